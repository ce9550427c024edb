import { defineCommand } from 'citty';
export default defineCommand({ meta: { name: 'data', description: 'TODO' }, run() {} });
