import { catchRejection, printFault, type SystemError } from "@sluice/errors";

function toConsole(error: SystemError): void {
  console.error(`[sluice] ${error.code}: ${error.message}`);
}

/**
 * The runtime's reporter: the host's `onError`, made safe to call from anywhere in the runtime (a
 * reporter that throws or rejects must not strand the run or the bookkeeping that was reporting; its fault
 * goes to the console, described as text when the console cannot print the value itself), or the
 * console when the host gave none.
 */
export function createReporter(
  onError: ((error: SystemError) => void) | undefined,
): (error: SystemError) => void {
  if (onError === undefined) return toConsole;
  return (error) => {
    try {
      const out: unknown = onError(error);
      if (out !== undefined) {
        catchRejection(out, (fault) =>
          printFault(
            `[sluice] options.onError rejected while reporting ${error.code}: ${error.message}`,
            fault,
          ),
        );
      }
    } catch (fault) {
      printFault(`[sluice] options.onError threw while reporting ${error.code}: ${error.message}`, fault);
    }
  };
}
