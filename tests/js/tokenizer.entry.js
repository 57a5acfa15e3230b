/*
 * Test-only entry (not shipped): the live probe's tokenizer (assets/src/lib/tokenizer.js) for
 * tests/test_tokenizer_browser.py, bundled by assets/src/build.sh into tests/js/tokenizer.js. The
 * test page reaches it through document.documentElement.inspect = {Tokenizer} (no window state).
 */
import { Tokenizer } from '../../assets/src/lib/tokenizer.js';

document.documentElement.inspect = { Tokenizer };
