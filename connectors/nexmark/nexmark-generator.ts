/**
 * The Nexmark event generator, after Flink's nexmark-flink (itself after Apache Beam's
 * NexmarkUtils / generator): events are numbered 0, 1, 2, ...; of every 50 consecutive events 1
 * is a Person, 3 are Auctions and 46 are Bids (proportions 1:3:46). Ids, hot auctions / bidders /
 * sellers (ratios 2, 4, 4 over buckets of 100), categories, prices (10^(6u) * 100 cents),
 * channels and auction lengths follow that generator. Event time is
 * `base-time + eventNumber * 1000 / tps` ms.
 *
 * Every value is a pure function of (event number, field, seed): randomness comes from hashing
 * them, not from a sequential PRNG, so a split can resume at any position and a column that is
 * not read is not generated. The values are therefore not bit-identical to Java's
 * `new Random(eventId)`, but the distributions and key relationships (bids refer to recent
 * auctions and active people; auctions to active sellers) are the same.
 */

export const TOTAL_PROPORTION = 50;
export const PERSON_PROPORTION = 1;
export const AUCTION_PROPORTION = 3;
export const BID_PROPORTION = 46;

const FIRST_PERSON_ID = 1000;
const FIRST_AUCTION_ID = 1000;
const FIRST_CATEGORY_ID = 10;
const NUM_CATEGORIES = 5;
const NUM_IN_FLIGHT_AUCTIONS = 100;
const NUM_ACTIVE_PEOPLE = 1000;
const AUCTION_ID_LEAD = 10;
const PERSON_ID_LEAD = 10;
const HOT_AUCTION_RATIO = 2;
const HOT_BIDDER_RATIO = 4;
const HOT_SELLER_RATIO = 4;
const HOT_BUCKET = 100;
const HOT_CHANNELS_RATIO = 100;
const CHANNELS_NUMBER = 10_000;
const AVG_PERSON_BYTES = 200;
const AVG_AUCTION_BYTES = 500;
const AVG_BID_BYTES = 100;

const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
const US_CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'];
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'];
const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];
const HOT_URLS = HOT_CHANNELS.map((_, i) => `https://www.nexmark.com/${['eqg', 'xmz', 'dem', 'oqu'][i]}/item.htm?query=1`);

export type NexmarkTable = 'person' | 'auction' | 'bid';

/** Column names and kinds of each table, as Flink's nexmark DDL declares them. */
export const NEXMARK_COLUMNS: Readonly<Record<NexmarkTable, Readonly<Record<string, 'BIGINT' | 'STRING' | 'TIMESTAMP'>>>> = {
  person: {
    id: 'BIGINT',
    name: 'STRING',
    emailAddress: 'STRING',
    creditCard: 'STRING',
    city: 'STRING',
    state: 'STRING',
    dateTime: 'TIMESTAMP',
    extra: 'STRING',
  },
  auction: {
    id: 'BIGINT',
    itemName: 'STRING',
    description: 'STRING',
    initialBid: 'BIGINT',
    reserve: 'BIGINT',
    dateTime: 'TIMESTAMP',
    expires: 'TIMESTAMP',
    seller: 'BIGINT',
    category: 'BIGINT',
    extra: 'STRING',
  },
  bid: { auction: 'BIGINT', bidder: 'BIGINT', price: 'BIGINT', channel: 'STRING', url: 'STRING', dateTime: 'TIMESTAMP', extra: 'STRING' },
};

/** The event number of the i-th (0-based) event of a table. */
export function eventNumber(table: NexmarkTable, i: number): number {
  switch (table) {
    case 'person':
      return i * TOTAL_PROPORTION;
    case 'auction':
      return Math.floor(i / AUCTION_PROPORTION) * TOTAL_PROPORTION + PERSON_PROPORTION + (i % AUCTION_PROPORTION);
    case 'bid':
      return Math.floor(i / BID_PROPORTION) * TOTAL_PROPORTION + PERSON_PROPORTION + AUCTION_PROPORTION + (i % BID_PROPORTION);
  }
}

/** How many events of a table are among the first `events` events. */
export function eventsOfTable(table: NexmarkTable, events: number): number {
  if (events === Infinity) return Infinity;
  const epochs = Math.floor(events / TOTAL_PROPORTION);
  const rem = events % TOTAL_PROPORTION;
  switch (table) {
    case 'person':
      return epochs * PERSON_PROPORTION + Math.min(rem, PERSON_PROPORTION);
    case 'auction':
      return epochs * AUCTION_PROPORTION + Math.max(0, Math.min(rem - PERSON_PROPORTION, AUCTION_PROPORTION));
    case 'bid':
      return epochs * BID_PROPORTION + Math.max(0, rem - PERSON_PROPORTION - AUCTION_PROPORTION);
  }
}

function lastBase0PersonId(e: number): number {
  const epoch = Math.floor(e / TOTAL_PROPORTION);
  let offset = e % TOTAL_PROPORTION;
  if (offset >= PERSON_PROPORTION) offset = PERSON_PROPORTION - 1;
  return epoch * PERSON_PROPORTION + offset;
}

function lastBase0AuctionId(e: number): number {
  const epoch = Math.floor(e / TOTAL_PROPORTION);
  let offset = e % TOTAL_PROPORTION;
  if (offset < PERSON_PROPORTION) {
    // Before this epoch's first auction: the previous epoch's last one.
    return epoch * AUCTION_PROPORTION - 1;
  }
  if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) offset = AUCTION_PROPORTION - 1;
  else offset -= PERSON_PROPORTION;
  return epoch * AUCTION_PROPORTION + offset;
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A pool of random text that strings are sliced from (cheap: no per-character randomness). */
function makePool(seed: number): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz     ';
  let s = '';
  let h = mix32(seed ^ 0x5bd1e995);
  for (let i = 0; i < 1 << 16; i++) {
    h = mix32(h + i);
    s += chars[h % chars.length];
  }
  return s;
}

/** Generates the column values of one table's events. */
export class NexmarkGenerator {
  private readonly pool: string;
  /** Event time per event: ms per event (may be fractional). */
  private readonly msPerEvent: number;

  constructor(
    readonly seed: number,
    readonly baseTime: number,
    readonly tps: number,
  ) {
    this.pool = makePool(seed);
    this.msPerEvent = 1000 / tps;
  }

  /** A uniform 32-bit value for (event, salt). */
  private r(e: number, salt: number): number {
    const lo = e >>> 0;
    const hi = Math.floor(e / 4294967296) >>> 0;
    return mix32(mix32(lo ^ Math.imul(salt, 0x9e3779b9) ^ this.seed) ^ Math.imul(hi + 1, 0x85ebca6b));
  }

  private nextInt(e: number, salt: number, n: number): number {
    return this.r(e, salt) % n;
  }

  private nextDouble(e: number, salt: number): number {
    return this.r(e, salt) / 4294967296;
  }

  private text(e: number, salt: number, len: number): string {
    if (len <= 0) return '';
    const at = this.r(e, salt) % (this.pool.length - len);
    return this.pool.slice(at, at + len);
  }

  timestamp(e: number): number {
    return this.baseTime + Math.floor(e * this.msPerEvent);
  }

  private nextBase0PersonId(e: number, salt: number): number {
    const numPeople = lastBase0PersonId(e) + 1;
    const active = Math.min(numPeople, NUM_ACTIVE_PEOPLE);
    return numPeople - active + this.nextInt(e, salt, active + PERSON_ID_LEAD);
  }

  private nextBase0AuctionId(e: number, salt: number): number {
    const max = lastBase0AuctionId(e);
    const min = Math.max(max - NUM_IN_FLIGHT_AUCTIONS, 0);
    return min + this.nextInt(e, salt, max - min + 1 + AUCTION_ID_LEAD);
  }

  private price(e: number, salt: number): number {
    return Math.round(10 ** (this.nextDouble(e, salt) * 6) * 100);
  }

  private extra(e: number, salt: number, current: number, avg: number): string {
    const desired = Math.floor(avg * (0.9 + 0.2 * this.nextDouble(e, salt)));
    return this.text(e, salt + 1, desired - current);
  }

  /** A function filling column `name` of table `table` for the given event numbers. */
  column(table: NexmarkTable, name: string): (e: number) => unknown {
    switch (table) {
      case 'person':
        return this.personColumn(name);
      case 'auction':
        return this.auctionColumn(name);
      case 'bid':
        return this.bidColumn(name);
    }
  }

  private personColumn(name: string): (e: number) => unknown {
    switch (name) {
      case 'id':
        return (e) => lastBase0PersonId(e) + FIRST_PERSON_ID;
      case 'name':
        return (e) => `${FIRST_NAMES[this.nextInt(e, 1, FIRST_NAMES.length)]} ${LAST_NAMES[this.nextInt(e, 2, LAST_NAMES.length)]}`;
      case 'emailAddress':
        return (e) => `${this.text(e, 3, 7).replace(/ /g, 'x')}@${this.text(e, 4, 5).replace(/ /g, 'x')}.com`;
      case 'creditCard':
        return (e) => {
          const r = this.r(e, 5);
          const r2 = this.r(e, 6);
          const g = (v: number): string => String(v % 10000).padStart(4, '0');
          return `${g(r)} ${g(r >>> 14)} ${g(r2)} ${g(r2 >>> 14)}`;
        };
      case 'city':
        return (e) => US_CITIES[this.nextInt(e, 7, US_CITIES.length)];
      case 'state':
        return (e) => US_STATES[this.nextInt(e, 8, US_STATES.length)];
      case 'dateTime':
        return (e) => this.timestamp(e);
      case 'extra':
        return (e) => this.extra(e, 9, 40, AVG_PERSON_BYTES);
      default:
        throw new Error(`nexmark person has no column ${name}`);
    }
  }

  private auctionColumn(name: string): (e: number) => unknown {
    switch (name) {
      case 'id':
        return (e) => lastBase0AuctionId(e) + FIRST_AUCTION_ID;
      case 'itemName':
        return (e) => this.text(e, 11, 20);
      case 'description':
        return (e) => this.text(e, 12, 100);
      case 'initialBid':
        return (e) => this.price(e, 13);
      case 'reserve':
        return (e) => this.price(e, 13) + this.price(e, 14);
      case 'dateTime':
        return (e) => this.timestamp(e);
      case 'expires':
        return (e) => {
          // Auctions run for a random part of twice the time until 100 more auctions have started.
          const ahead = Math.floor((NUM_IN_FLIGHT_AUCTIONS * TOTAL_PROPORTION) / AUCTION_PROPORTION);
          const horizon = Math.max(this.timestamp(e + ahead) - this.timestamp(e), 1);
          return this.timestamp(e) + 1 + Math.floor(this.nextDouble(e, 15) * horizon * 2);
        };
      case 'seller':
        return (e) =>
          (this.nextInt(e, 16, HOT_SELLER_RATIO) > 0 ? Math.floor(lastBase0PersonId(e) / HOT_BUCKET) * HOT_BUCKET : this.nextBase0PersonId(e, 17)) +
          FIRST_PERSON_ID;
      case 'category':
        return (e) => FIRST_CATEGORY_ID + this.nextInt(e, 18, NUM_CATEGORIES);
      case 'extra':
        return (e) => this.extra(e, 19, 180, AVG_AUCTION_BYTES);
      default:
        throw new Error(`nexmark auction has no column ${name}`);
    }
  }

  private bidColumn(name: string): (e: number) => unknown {
    const hotChannel = (e: number): number => (this.nextInt(e, 25, HOT_CHANNELS_RATIO) > 0 ? this.nextInt(e, 26, HOT_CHANNELS.length) : -1);
    switch (name) {
      case 'auction':
        return (e) =>
          (this.nextInt(e, 21, HOT_AUCTION_RATIO) > 0 ? Math.floor(lastBase0AuctionId(e) / HOT_BUCKET) * HOT_BUCKET : this.nextBase0AuctionId(e, 22)) +
          FIRST_AUCTION_ID;
      case 'bidder':
        return (e) =>
          (this.nextInt(e, 23, HOT_BIDDER_RATIO) > 0 ? Math.floor(lastBase0PersonId(e) / HOT_BUCKET) * HOT_BUCKET + 1 : this.nextBase0PersonId(e, 24)) +
          FIRST_PERSON_ID;
      case 'price':
        return (e) => this.price(e, 20);
      case 'channel':
        return (e) => {
          const h = hotChannel(e);
          return h >= 0 ? HOT_CHANNELS[h] : `channel-${this.nextInt(e, 27, CHANNELS_NUMBER)}`;
        };
      case 'url':
        return (e) => {
          const h = hotChannel(e);
          return h >= 0
            ? HOT_URLS[h]
            : `https://www.nexmark.com/${this.text(e, 28, 3).replace(/ /g, 'x')}/item.htm?query=1&channel_id=${this.nextInt(e, 29, 1 << 20)}`;
        };
      case 'dateTime':
        return (e) => this.timestamp(e);
      case 'extra':
        return (e) => this.extra(e, 30, 60, AVG_BID_BYTES);
      default:
        throw new Error(`nexmark bid has no column ${name}`);
    }
  }
}
