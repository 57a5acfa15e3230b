/* Test-only entry (not shipped): shared/tokenizer.js for tests/test_tokenizer_browser.py, bundled
 * into tests/js/tokenizer.js with the global name tokenizerUnderTest ({Tokenizer}). */
export { Tokenizer } from '../shared/tokenizer.js';
