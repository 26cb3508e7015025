/** The error class for bad input from the user (code USAGE): the CLI turns it into exit 2 with a usage line. */
import { ShmError } from './errors';

export class UsageError extends ShmError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'USAGE', options);
  }
}
