// Keep Nest and the app quiet in tests unless asked.
process.env.LOG_LEVEL = process.env.LOG_LEVEL || 'warn';
