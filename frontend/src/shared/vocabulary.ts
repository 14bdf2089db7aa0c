// The workflow's words as the server lists them (GET /api/v1/vocabulary): which statuses exist,
// which are open, terminal or closed for Open311, how far along each is (its phase, which the
// kit colours by), the resolutions, priorities, channels and actions. Front ends read these
// lists here instead of copying them; labels come from the message catalogues.
// Kept in localStorage too, so an app that starts offline still knows them.
import { computed, shallowRef } from "vue";
import { get } from "./api";
import type { ActionTerm, CaseStatus, Phase, Resolution, StatusTerm, Vocabulary } from "./types";

const KEY = "cityloop.vocabulary";

function stored(): Vocabulary | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Vocabulary) : null;
  } catch {
    return null;
  }
}

export const vocabulary = shallowRef<Vocabulary | null>(stored());

let loading: Promise<Vocabulary | null> | null = null;

/** Fetch the vocabulary once per page load (a failure is retried on the next call). */
export function loadVocabulary(): Promise<Vocabulary | null> {
  loading ??= get("/api/v1/vocabulary").then(
    (answer) => {
      vocabulary.value = answer;
      try {
        localStorage.setItem(KEY, JSON.stringify(answer));
      } catch {
        // storage full: the in-memory copy still works
      }
      return answer;
    },
    () => {
      loading = null;
      return vocabulary.value;
    },
  );
  return loading;
}

export const statuses = computed<StatusTerm[]>(() => vocabulary.value?.statuses ?? []);
export const openStatuses = computed<CaseStatus[]>(() => statuses.value.filter((s) => s.open).map((s) => s.code));
/** The statuses a case passes on its way to closed, in order (not the dead ends). */
export const progressStatuses = computed<CaseStatus[]>(() =>
  statuses.value.filter((s) => !s.terminal).map((s) => s.code),
);
export const resolutions = computed(() => vocabulary.value?.resolutions ?? []);
export const priorities = computed(() => vocabulary.value?.priorities ?? []);
export const channels = computed(() => vocabulary.value?.channels ?? []);
export const actions = computed<ActionTerm[]>(() => vocabulary.value?.actions ?? []);

export function statusTerm(code: string | null | undefined): StatusTerm | undefined {
  return statuses.value.find((s) => s.code === code);
}

export function actionTerm(code: string | null | undefined): ActionTerm | undefined {
  return actions.value.find((a) => a.code === code);
}

export function isOpen(status: string | null | undefined): boolean {
  return statusTerm(status)?.open ?? false;
}

/** How far along a case is: its status's phase, or for a closed case its resolution's
 * (a fix is "done", a referral or a duplicate "ended"). Undefined until the vocabulary loads. */
export function phaseOf(status: string | null | undefined, resolution?: Resolution | string | null): Phase | undefined {
  const term = statusTerm(status);
  if (term?.open311_closed && resolution) {
    const found = resolutions.value.find((r) => r.code === resolution);
    if (found) return found.phase;
  }
  return term?.phase;
}

/** The phases in workflow order, each with its statuses: what a map legend shows. */
export const phases = computed(() => {
  const found = new Map<Phase, CaseStatus[]>();
  for (const s of statuses.value) found.set(s.phase, [...(found.get(s.phase) ?? []), s.code]);
  return [...found.entries()].map(([phase, codes]) => ({ phase, statuses: codes }));
});
