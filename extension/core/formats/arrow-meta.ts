/**
 * The two apache-arrow metadata readers that formats/arrow.ts uses. They pull in most of
 * the package, so the bundles leave this module out and load it (dist/arrow-meta.js,
 * its own bundle) only on the first Arrow file: starting the CLI or the extension
 * never parses or evaluates apache-arrow.
 */
export { Footer } from 'apache-arrow/ipc/metadata/file';
export { Message } from 'apache-arrow/ipc/metadata/message';
