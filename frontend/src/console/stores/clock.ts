// One shared one-second clock for every SLA countdown on screen (not one timer per row).
import { ref } from "vue";

export const now = ref(Date.now());
let timer: number | undefined;
let users = 0;

export function useClock() {
  users += 1;
  if (timer === undefined) {
    now.value = Date.now();
    timer = window.setInterval(() => (now.value = Date.now()), 1000);
  }
  return {
    now,
    release() {
      users -= 1;
      if (users <= 0 && timer !== undefined) {
        window.clearInterval(timer);
        timer = undefined;
        users = 0;
      }
    },
  };
}
