#!/usr/bin/env node
// Test-only driver for typage, the age authors' TypeScript age (npm `age-encryption`,
// pinned in the repository's package-lock.json), for tests/test_age_pq_interop.py: an
// implementation of age's post-quantum hybrid recipients (mlkem768x25519) independent
// of ours.
//
//   node tests/node/age_interop.mjs keygen                      identity file to stdout
//   node tests/node/age_interop.mjs to-recipient IDENTITY_FILE  its recipient(s), a line each
//   node tests/node/age_interop.mjs encrypt [--armor] RECIPIENT...   stdin -> stdout
//   node tests/node/age_interop.mjs decrypt IDENTITY_FILE       stdin -> stdout
//
// keygen prints what age-keygen does ("# public key: age1pq1..." then the
// AGE-SECRET-KEY-PQ-1... line), so its output saved to a file is an identity file.
// Secret keys are never taken from argv (a project rule: argv is visible to every user
// through ps and /proc): decrypt and to-recipient read them from an identity file, which
// must not be readable by group or others (0600). decrypt takes binary or armored input.
// Exit status: 0 ok, 1 the operation failed (message on stderr), 2 usage or setup.

const MIN_NODE = [20, 19]; // typage's noble dependencies need Node.js >= 20.19

function fail(message, status = 1) {
  process.stderr.write(`age_interop: ${message}\n`);
  process.exit(status);
}

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
  fail(`Node.js ${MIN_NODE.join(".")} or newer is required, this is ${process.versions.node}`, 2);
}

const fs = await import("node:fs");
let age;
try {
  age = await import("age-encryption");
} catch (err) {
  fail(`cannot load the npm package age-encryption (run \`npm ci\` at the repository root): ${err.message}`, 2);
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function writeStdout(data) {
  return new Promise((resolve, reject) => {
    process.stdout.write(data, (err) => (err ? reject(err) : resolve()));
  });
}

function readIdentities(path) {
  let stat;
  try {
    stat = fs.statSync(path);
  } catch (err) {
    fail(`cannot read the identity file: ${err.code ?? err.message}`, 2);
  }
  if (process.platform !== "win32" && (stat.mode & 0o077) !== 0) {
    fail(`the identity file is readable by others (mode ${(stat.mode & 0o777).toString(8)}, want 600)`, 2);
  }
  const identities = fs
    .readFileSync(path, "utf8")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  if (identities.length === 0) {
    fail("the identity file holds no identity", 2);
  }
  return identities;
}

const [command, ...args] = process.argv.slice(2);

try {
  switch (command) {
    case "keygen": {
      if (args.length !== 0) fail("usage: keygen", 2);
      const identity = await age.generateHybridIdentity();
      const recipient = await age.identityToRecipient(identity);
      await writeStdout(`# public key: ${recipient}\n${identity}\n`);
      break;
    }
    case "to-recipient": {
      if (args.length !== 1) fail("usage: to-recipient IDENTITY_FILE", 2);
      for (const identity of readIdentities(args[0])) {
        await writeStdout(`${await age.identityToRecipient(identity)}\n`);
      }
      break;
    }
    case "encrypt": {
      const armor = args[0] === "--armor";
      const recipients = armor ? args.slice(1) : args;
      if (recipients.length === 0) fail("usage: encrypt [--armor] RECIPIENT...", 2);
      if (recipients.some((r) => r.startsWith("AGE-"))) {
        fail("encrypt takes recipients, not secret keys", 2);
      }
      const encrypter = new age.Encrypter();
      for (const recipient of recipients) encrypter.addRecipient(recipient);
      const ciphertext = await encrypter.encrypt(await readStdin());
      await writeStdout(armor ? age.armor.encode(ciphertext) : ciphertext);
      break;
    }
    case "decrypt": {
      if (args.length !== 1) fail("usage: decrypt IDENTITY_FILE", 2);
      const decrypter = new age.Decrypter();
      for (const identity of readIdentities(args[0])) decrypter.addIdentity(identity);
      let input = await readStdin();
      const head = new TextDecoder().decode(input.subarray(0, 64)).trimStart();
      if (head.startsWith("-----BEGIN")) {
        input = age.armor.decode(new TextDecoder("utf-8", { fatal: true }).decode(input));
      }
      await writeStdout(await decrypter.decrypt(input));
      break;
    }
    default:
      fail("usage: age_interop.mjs keygen | to-recipient FILE | encrypt [--armor] RECIPIENT... | decrypt FILE", 2);
  }
} catch (err) {
  fail(`${command} failed: ${err.message}`);
}
