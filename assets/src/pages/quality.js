/* quality.html: the dictionary's quality (factors/quality.js). */
import { startQuality } from '../factors/quality.js';

startQuality();
