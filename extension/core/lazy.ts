/**
 * Node modules that only some commands need, loaded on first use: a command line that
 * lists segments should not pay for loading crypto or zlib (a few milliseconds each).
 */
/* eslint-disable @typescript-eslint/no-require-imports */
export const nodeCrypto = (): typeof import('crypto') => require('crypto') as typeof import('crypto');
export const nodeZlib = (): typeof import('zlib') => require('zlib') as typeof import('zlib');
