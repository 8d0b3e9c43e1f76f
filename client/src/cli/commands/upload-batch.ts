/** `emr upload-batch`: every regular file of a directory, one after another. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { UploadResult } from '../../sharing/emr-client';
import { UsageError, parseCategory, parsePseudonym, parseRecordType } from '../options';
import { formatBytes } from '../progress';
import { Failure, type Sessions } from '../session';
import { regularFileSize, uploadSummary, withReplica } from './upload';

export function addUploadBatch(program: Command, session: Sessions): void {
  program
    .command('upload-batch')
    .description('upload every regular file of a directory, one after another')
    .argument('<dir>', 'the directory')
    .requiredOption('--patient <pseudonym>', "the patient's pseudonym (64 hex characters)")
    .requiredOption('--category <category>', 'department path, e.g. cardiology/ecg')
    .option('--type <type>', 'sharable or non-sharable (default sharable)')
    .action(async (dir: string, o: { patient: string; category: string; type?: string }) => {
      const s = session();
      const patientPseudonym = parsePseudonym(o.patient);
      const category = parseCategory(o.category);
      const type = o.type !== undefined ? parseRecordType(o.type) : undefined;
      let names: string[];
      try {
        names = readdirSync(dir, { withFileTypes: true })
          .filter((d) => d.isFile())
          .map((d) => d.name)
          .sort();
      } catch (err) {
        throw new UsageError(`<dir> ${JSON.stringify(dir)}: ${(err as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'not a directory' : 'cannot be read'} (${(err as Error).message})`, '<dir>');
      }
      const files = names.map((name) => ({ name, file: path.join(dir, name), size: regularFileSize(path.join(dir, name), '<dir>') }));
      if (files.length === 0) {
        s.note(`emr: no regular files in ${dir}`);
        s.emit([], '');
        return;
      }
      const totalBytes = files.reduce((n, f) => n + f.size, 0);
      const done: (ReturnType<typeof uploadSummary> & { file: string })[] = [];
      await s.connect(async (c) => {
        const bar = s.bar();
        let doneBytes = 0;
        for (const f of files) {
          const label = `${done.length}/${files.length} files`;
          bar.update(doneBytes, totalBytes, label, true);
          let r: UploadResult;
          try {
            r = await withReplica(await c.uploadRecord({ patientPseudonym, category, ...(type ? { type } : {}), source: f.file, onProgress: (p) => bar.update(doneBytes + p.bytes, totalBytes, label) }));
          } catch (err) {
            bar.clear();
            throw new Failure(err, { file: f.file, uploaded: done });
          }
          doneBytes += f.size;
          const summary = { file: f.file, ...uploadSummary(r) };
          done.push(summary);
          if (!s.options.json) {
            bar.clear();
            s.io.stdout.write(`${f.file}  ${summary.recordId}  ${summary.cid}  ${formatBytes(f.size)}  ${summary.pinnedOn.join(',')}\n`);
          }
        }
        bar.update(doneBytes, totalBytes, `${done.length}/${files.length} files`);
        bar.finish();
      });
      if (s.options.json) s.emit(done, '');
    });
}
