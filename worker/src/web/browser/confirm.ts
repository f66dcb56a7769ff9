/** `form[data-confirm=question]` is sent only once the reader confirms. */
import { $$ } from "./dom";

export function initConfirmForms(): void {
  for (const form of $$<HTMLFormElement>("form[data-confirm]")) {
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.getAttribute("data-confirm") ?? "")) e.preventDefault();
    });
  }
}
