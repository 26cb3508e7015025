// Lists the longest functions of the tree, longest first, as `lines  file:line  name`: TypeScript
// through the compiler's parser (functions, methods, constructors, accessors, and function or
// arrow expressions given a name by a variable, a property or a class field), C++ in native/src
// by matching the braces of function bodies. A nested function counts on its own and inside its
// parent. For issue #13's figures; not a test.
//
//   node scripts/longest-functions.mjs [--top N] [--root DIR] [PATH...]
//
// PATHs (files or folders, relative to --root, default: extension webview contract native/src)
// are where to look; tests, scripts and benches are left out unless named.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ts = require('typescript');

function parseArgs(argv) {
  const opts = { top: 10, root: process.cwd(), paths: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--top') opts.top = Number(argv[++i]);
    else if (a === '--root') opts.root = resolve(argv[++i]);
    else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/longest-functions.mjs [--top N] [--root DIR] [PATH...]');
      process.exit(0);
    } else opts.paths.push(a);
  }
  if (!Number.isInteger(opts.top) || opts.top < 1) throw new Error('--top wants a whole number above 0');
  if (opts.paths.length === 0) opts.paths = ['extension', 'webview', 'contract', 'native/src'];
  return opts;
}

function sourceFiles(p) {
  if (!existsSync(p)) return [];
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p)
    .sort()
    .flatMap((n) => (n === 'node_modules' || n === 'build' ? [] : sourceFiles(join(p, n))));
}

// ---- TypeScript ----

function nameOfTs(node, sf) {
  const text = (n) => (n ? n.getText(sf) : '');
  const owner = () => {
    const cls = node.parent;
    return cls && (ts.isClassDeclaration(cls) || ts.isClassExpression(cls)) && cls.name ? `${cls.name.text}.` : '';
  };
  if (ts.isFunctionDeclaration(node)) return node.name ? node.name.text : 'default';
  if (ts.isMethodDeclaration(node)) return owner() + text(node.name);
  if (ts.isConstructorDeclaration(node)) return owner() + 'constructor';
  if (ts.isGetAccessorDeclaration(node)) return owner() + 'get ' + text(node.name);
  if (ts.isSetAccessorDeclaration(node)) return owner() + 'set ' + text(node.name);
  if (ts.isArrowFunction(node) || ts.isFunctionExpression(node)) {
    const p = node.parent;
    if (ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) return p.name.text;
    if (ts.isPropertyAssignment(p)) return text(p.name);
    if (ts.isPropertyDeclaration(p)) {
      const cls = p.parent;
      return (cls && cls.name ? `${cls.name.text}.` : '') + text(p.name);
    }
    if (ts.isFunctionExpression(node) && node.name) return node.name.text;
  }
  return null;
}

function tsFunctions(file, rel) {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found = [];
  const visit = (node) => {
    const body = node.body;
    const name = body ? nameOfTs(node, sf) : null;
    if (name !== null) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      found.push({ file: rel, line: first + 1, lines: last - first + 1, name });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

// ---- C++ ----

/** The text with comments, string and character literals blanked (newlines kept, so lines still count). */
function blankCpp(src) {
  let out = '';
  let i = 0;
  const blank = (s) => s.replace(/[^\n]/g, ' ');
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    let end = -1;
    if (c === '/' && n === '/') end = src.indexOf('\n', i) === -1 ? src.length : src.indexOf('\n', i);
    else if (c === '/' && n === '*') end = src.indexOf('*/', i + 2) === -1 ? src.length : src.indexOf('*/', i + 2) + 2;
    else if (c === 'R' && n === '"' && !/\w/.test(src[i - 1] ?? '')) {
      const open = src.indexOf('(', i);
      const delim = src.slice(i + 2, open);
      const close = src.indexOf(`)${delim}"`, open);
      end = close === -1 ? src.length : close + delim.length + 2;
    } else if (c === '"' || (c === "'" && !/[0-9a-fA-F]/.test(src[i - 1] ?? ''))) {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      end = j + 1;
    }
    if (end === -1) {
      out += c;
      i++;
    } else {
      out += blank(src.slice(i, end));
      i = end;
    }
  }
  // Preprocessor lines (with their continuations) are no part of any header.
  return out.replace(/^[ \t]*#(?:[^\n]*\\\n)*[^\n]*/gm, blank);
}

const NOT_FUNCTIONS = new Set(['if', 'for', 'while', 'switch', 'catch', 'return', 'sizeof', 'decltype', 'alignof', 'static_assert']);

/** The name of the function a `{` after `header` opens, or null for a namespace, class, initialiser... */
function cppHeaderName(header) {
  const h = header.replace(/\s+/g, ' ').trim();
  if (/^(template ?<.*> ?)?(namespace|class|struct|union|enum)\b/.test(h) || /^extern "/.test(h) || h === '') return null;
  const lambda = /(\w+) ?= ?\[[^\]]*\] ?\(/.exec(h);
  if (lambda) return lambda[1];
  const open = h.indexOf('(');
  if (open < 0 || /=/.test(h.slice(0, open).replace(/operator ?\S+$/, ''))) return null;
  const name = /((?:[\w~]+ ?::\s?)*(?:operator ?[^\s(]+|~?\w+)) ?(?:<[^()]*>)? ?$/.exec(h.slice(0, open));
  if (!name || NOT_FUNCTIONS.has(name[1])) return null;
  return name[1].replace(/ /g, '');
}

function cppFunctions(file, rel) {
  const text = blankCpp(readFileSync(file, 'utf8'));
  const found = [];
  const lineAt = (pos) => text.slice(0, pos).split('\n').length;
  const match = (open) => {
    let depth = 0;
    for (let j = open; j < text.length; j++) {
      if (text[j] === '{') depth++;
      else if (text[j] === '}' && --depth === 0) return j;
    }
    return text.length - 1;
  };
  // Scopes (namespaces, classes) are entered; a function's body is skipped whole after it is counted.
  let headerStart = 0;
  const classes = []; // { name, close } of the classes entered
  for (let i = 0; i < text.length; i++) {
    while (classes.length > 0 && classes[classes.length - 1].close < i) classes.pop();
    const c = text[i];
    if (c === ';' || c === '}') headerStart = i + 1;
    if (c !== '{') continue;
    const header = text.slice(headerStart, i);
    // A member initialised with braces in a constructor's list (`: a_(x), b_{y} {`): part of the header.
    if (/\)\s*(noexcept\s*)?:[^:]/.test(header) && /[\w>]\s*$/.test(header)) {
      i = match(i);
      continue;
    }
    const name = cppHeaderName(header);
    if (name === null) {
      const flat = header.replace(/\s+/g, ' ');
      if (/\b(namespace|class|struct|union)\b|extern "/.test(flat)) {
        const cls = /\b(?:class|struct|union) (\w+)(?! ?;)[^;]*$/.exec(flat);
        if (cls && !/\benum\b/.test(flat)) classes.push({ name: cls[1], close: match(i) });
        headerStart = i + 1;
      } else {
        i = match(i);
        headerStart = i + 1;
      }
      continue;
    }
    const close = match(i);
    const startOffset = headerStart + (header.length - header.trimStart().length);
    const first = lineAt(startOffset);
    const qualified = name.includes('::') ? name : [...classes.map((c) => c.name), name].join('::');
    found.push({ file: rel, line: first, lines: lineAt(close) - first + 1, name: qualified });
    i = close;
    headerStart = i + 1;
  }
  return found;
}

const opts = parseArgs(process.argv.slice(2));
const all = [];
for (const p of opts.paths) {
  for (const f of sourceFiles(join(opts.root, p))) {
    const rel = relative(opts.root, f);
    if (/\.d\.ts$/.test(f)) continue;
    if (/\.(ts|tsx|mts)$/.test(f)) all.push(...tsFunctions(f, rel));
    else if (/\.(cc|cpp|cxx|h|hpp)$/.test(f)) all.push(...cppFunctions(f, rel));
  }
}
all.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
for (const f of all.slice(0, opts.top)) console.log(`${String(f.lines).padStart(5)}  ${f.file}:${f.line}  ${f.name}`);
