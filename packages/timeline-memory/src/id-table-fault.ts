import { SystemError } from "@sluice/errors";

/**
 * The error for an event the id table has lost (its position not where its id's hash leads): the
 * table and the log disagree, a fault of the store's own. Thrown instead of probing for ever, so a
 * broken store fails its calls and the process goes on.
 */
export function idTableFault(position: number): SystemError {
  return new SystemError(
    "INVALID_STATE",
    `memory timeline store: the event at position ${position} is missing from the store's id index, so its contents can no longer be trusted; close this store and create a new one (and please report this as a bug)`,
    { details: { position } },
  );
}
