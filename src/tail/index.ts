export {
  TailHub,
  matchesAll,
  type EventKind,
  type TailHubOptions,
  type TailStats,
  type TailTarget,
} from './tail-hub.js';
export {
  TailSubscription,
  type Delivery,
  type EndReason,
  type SubscriberLimits,
  type TailKind,
} from './tail-subscription.js';
