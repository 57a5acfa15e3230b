/*
 * index.html: the model's overview. The page is static; on image sites its script fills the strip
 * of sample images (images/strip.js).
 */
import { startPage } from '../core/page.js';
import { initStrip } from '../images/strip.js';

startPage(initStrip);
