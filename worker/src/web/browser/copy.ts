/** `button[data-copy=id]` copies the text of `#id` (or selects it, for the reader to copy, where that fails). */
import { $$ } from "./dom";

function selectText(node: Node): void {
  const range = document.createRange();
  range.selectNodeContents(node);
  const selection = window.getSelection();
  if (!selection) return;
  selection.removeAllRanges();
  selection.addRange(range);
}

export function initCopyButtons(): void {
  for (const button of $$<HTMLButtonElement>("button[data-copy]")) {
    button.addEventListener("click", () => {
      const source = document.getElementById(button.getAttribute("data-copy") ?? "");
      if (!source) return;
      const text = source.textContent || "";
      const done = () => {
        const was = button.textContent;
        button.textContent = "Copied";
        setTimeout(() => {
          button.textContent = was;
        }, 1500);
      };
      // The Clipboard API exists only in secure contexts (https, localhost).
      if (typeof navigator.clipboard !== "undefined" && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, () => selectText(source));
      } else {
        selectText(source);
        try {
          if (document.execCommand("copy")) done();
        } catch {
          // selected: the reader copies
        }
      }
    });
  }
}
