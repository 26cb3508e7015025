/** The management operations (issue 6): create, persist/restore, unlink/clear, attach code. */
export * from './api';
export { validateName, npyHeader } from './util';
export { createSegment, planCreate } from './create';
export { persistSegment, restoreSegment, restoresAsWords } from './persist';
export { unlinkSegments, clearSegments, planClear, globRegExp, type ClearPlan } from './remove';
export { attachCode } from './attach';
