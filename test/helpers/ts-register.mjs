// `node --import ./test/helpers/ts-register.mjs engine/cli/bin.ts ...`: see ts-hooks.mjs.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
