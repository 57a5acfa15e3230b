/* factors.html: the factor index (factors/index-table.js). */
import { startPage } from '../core/page.js';
import { startIndex } from '../factors/index-table.js';

startPage(startIndex);
