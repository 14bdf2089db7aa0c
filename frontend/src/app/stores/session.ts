// The signed-in citizen (or nobody: reporting anonymously is always allowed).
import { computed, ref } from "vue";
import { ApiError, get, getToken, login, post, setToken, type User } from "../../shared/api";

const USER_KEY = "cityloop.citizen.user";

function storedUser(): User | null {
  if (!getToken()) return null;
  try {
    return JSON.parse(localStorage.getItem(USER_KEY) ?? "null") as User | null;
  } catch {
    return null;
  }
}

export const user = ref<User | null>(storedUser());
export const signedIn = computed(() => user.value !== null);

function remember(value: User | null): void {
  user.value = value;
  if (value) localStorage.setItem(USER_KEY, JSON.stringify(value));
  else localStorage.removeItem(USER_KEY);
}

export async function signIn(username: string, password: string): Promise<User> {
  const answer = await login(username.trim(), password);
  remember(answer.user);
  return answer.user;
}

export async function signUp(fields: {
  username: string;
  password: string;
  display_name?: string;
  email?: string;
  phone?: string;
}): Promise<User> {
  await post("/api/v1/citizens", {
    json: {
      username: fields.username.trim(),
      password: fields.password,
      display_name: fields.display_name?.trim() || undefined,
      email: fields.email?.trim() || undefined,
      phone: fields.phone?.trim() || undefined,
    },
  });
  return signIn(fields.username, fields.password);
}

export function signOut(): void {
  setToken(null);
  remember(null);
}

/** Check the stored token: an expired one signs the user out (their tracked reports stay). */
export async function refreshUser(): Promise<void> {
  if (!getToken()) {
    remember(null);
    return;
  }
  try {
    remember(await get("/api/v1/me"));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) signOut();
    // offline: keep the stored user
  }
}
