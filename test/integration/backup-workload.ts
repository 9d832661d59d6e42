import type { ProgressDBClient } from '../../sdk/src/index.js';

/** Per-call options acting as `user` with a backend key. */
export const as = (user: string) => ({ metadata: { 'x-user-id': user } });

/**
 * Writes a workload that exercises every event kind: threads with members, titles and metadata,
 * messages with replies and batches, edits, deletions, reactions added and taken back, member
 * changes, a deleted thread. Returns the ids of the threads it wrote.
 */
export async function writeWorkload(client: ProgressDBClient, prefix = 'w'): Promise<string[]> {
  const t = `${prefix}-main`;
  await client.threads.create(
    { threadId: t, title: 'Main', metadata: { topic: 'tests' }, memberIds: ['bob', 'carol'] },
    as('alice'),
  );
  const first = await client.messages.append(
    { threadId: t, role: 'user', body: { text: 'hello', n: 1 }, metadata: { lang: 'en' } },
    as('alice'),
  );
  await client.messages.append(
    { threadId: t, role: 'user', body: 'a reply', replyToId: first.message.id, authorId: 'bob' },
    as('bob'),
  );
  const batch = await client.messages.appendMany(
    {
      threadId: t,
      messages: [
        { role: 'assistant', body: [1, 2, 3], metadata: { model: 'm' } },
        { role: 'assistant', body: null, messageId: 'chosen-id' },
      ],
    },
    as('alice'),
  );
  await client.messages.edit(
    { threadId: t, messageId: first.message.id, body: { text: 'hello, edited' } },
    as('alice'),
  );
  await client.messages.react(
    { threadId: t, messageId: first.message.id, reaction: '👍' },
    as('alice'),
  );
  await client.messages.react(
    { threadId: t, messageId: first.message.id, reaction: '👍' },
    as('bob'),
  );
  await client.messages.react(
    { threadId: t, messageId: first.message.id, reaction: '🎉' },
    as('bob'),
  );
  await client.messages.unreact(
    { threadId: t, messageId: first.message.id, reaction: '🎉' },
    as('bob'),
  );
  await client.messages.delete({ threadId: t, messageId: 'chosen-id' }, as('alice'));
  await client.messages.delete({ threadId: t, messageId: batch.messages[0]!.id }, as('alice'));
  await client.threads.update(
    { threadId: t, title: 'Main, renamed', metadata: { topic: 'renamed' } },
    as('alice'),
  );
  await client.threads.addMembers({ threadId: t, userIds: ['dave'] }, as('alice'));
  await client.threads.removeMembers({ threadId: t, userIds: ['carol'] }, as('alice'));
  const ids = [t];
  for (let i = 0; i < 5; i++) ids.push(`${prefix}-side-${i}`);
  for (let i = 0; i < 25; i++) {
    await client.messages.append(
      { threadId: `${prefix}-side-${i % 5}`, role: 'user', body: { i }, createThread: true },
      as(i % 2 === 0 ? 'bob' : 'erin'),
    );
  }
  await client.threads.delete({ threadId: `${prefix}-side-3` }, as('bob'));
  return ids;
}
