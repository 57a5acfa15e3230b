/* factors.html: the factor index (factors/index-table.js). */
import { startIndex } from '../factors/index-table.js';

startIndex();
