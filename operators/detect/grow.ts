// The helper is shared by the whole engine; detection modules import it from here.
export { grown } from '../../engine/typedArrays.js';
