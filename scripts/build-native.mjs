// `npm install` builds the addon with node-gyp. Node's headers come from the
// running Node's own install (<prefix>/include/node) when it has them, so no
// header download is needed (there is no network on some machines); otherwise
// node-gyp fetches them as usual. npm_config_nodedir, when set, wins.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const args = ['rebuild', '--directory', 'native'];
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const gyp = process.env.npm_config_node_gyp || 'node-gyp';
const r = spawnSync(gyp.endsWith('.js') ? process.execPath : gyp, gyp.endsWith('.js') ? [gyp, ...args] : args, {
  stdio: 'inherit',
  shell: !gyp.endsWith('.js'),
});
process.exit(r.status ?? 1);
