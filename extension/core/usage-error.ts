/** The error class for bad input from the user: the CLI turns it into exit 2 with a usage line. */
export class UsageError extends Error {}
