/* quality.html: the dictionary's quality (factors/quality.js). */
import { startPage } from '../core/page.js';
import { startQuality } from '../factors/quality.js';

startPage(startQuality);
