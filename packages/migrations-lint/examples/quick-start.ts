import { memorySource } from "@studio/migrations-core";
import { lint } from "@studio/migrations-lint";

const { migrations } = await memorySource([
  {
    name: "009_index_user_emails",
    sql: "-- migrate:up\nCREATE INDEX users_email_idx ON platform.users (email);\n",
  },
]).load();

const report = await lint(migrations); // pass { sizes } from a live target for sizes and waits
for (const f of report.findings)
  console.log(`${f.migration}:${f.line} ${f.level} ${f.rule} (${f.lock})`);
console.log(report.errors); // 1
