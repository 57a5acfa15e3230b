/* tokens.html: the token browser (tokens/browser.js) and its live probe (live/tokens.js); on image
 * sites the page forwards to images.html. */
import { startPage } from '../core/page.js';
import { startLiveTokens } from '../live/tokens.js';
import { forwardImages, startTokens } from '../tokens/browser.js';

startPage(() => {
  if (forwardImages()) return;
  startTokens();
  startLiveTokens();
});
