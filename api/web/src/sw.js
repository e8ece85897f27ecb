// Service worker of the reporting client (placeholder).
self.addEventListener('install', () => self.skipWaiting());
