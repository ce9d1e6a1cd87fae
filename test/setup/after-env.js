// Integration suites talk to real services; individual tests may take a while on a busy machine.
jest.setTimeout(120000);
