/* tokens.html: the token browser (tokens/browser.js) and its live probe (live/tokens.js); on image
 * sites the page forwards to images.html. */
import { startLiveTokens } from '../live/tokens.js';
import { forwardImages, startTokens } from '../tokens/browser.js';

if (!forwardImages()) {
  startTokens();
  startLiveTokens();
}
