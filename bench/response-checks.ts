import {
  AppendMessageResponse,
  AppendMessagesResponse,
  ListMessagesResponse,
} from '../src/gen/progressdb/v1/message_service.js';
import type { LoadTask } from './worker-protocol.js';

/**
 * Decodes a sampled response and says what is wrong with it, if anything: the load loop does not
 * decode responses (that would measure the client), so this guards against counting garbage.
 */
export function validateResponse(task: LoadTask, response: Buffer): string | undefined {
  try {
    switch (task.kind) {
      case 'appendMessage': {
        const decoded = AppendMessageResponse.decode(response);
        return decoded.revision > 0n && decoded.message
          ? undefined
          : 'AppendMessage: no message or revision 0';
      }
      case 'appendMessages': {
        const decoded = AppendMessagesResponse.decode(response);
        return decoded.messages.length === task.batchSize
          ? undefined
          : `AppendMessages: ${decoded.messages.length} messages, expected ${task.batchSize}`;
      }
      case 'listMessages': {
        const decoded = ListMessagesResponse.decode(response);
        return decoded.messages.length === task.pageSize
          ? undefined
          : `ListMessages: ${decoded.messages.length} messages, expected ${task.pageSize}`;
      }
    }
  } catch (err) {
    return `${task.kind}: undecodable response (${String(err)})`;
  }
}
