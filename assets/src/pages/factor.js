/* factor.html: one factor (factors/page/), with the live probe's "Try this factor on your text"
 * on text sites that have it (live/factor.js; it does nothing without the live card). */
import { startPage } from '../core/page.js';
import { start } from '../factors/page/state.js';
import { startLiveFactor } from '../live/factor.js';

startPage(() => {
  startLiveFactor();
  start();
});
