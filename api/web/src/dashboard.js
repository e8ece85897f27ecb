import './style.css';
import { initPage } from './common.js';

initPage();
