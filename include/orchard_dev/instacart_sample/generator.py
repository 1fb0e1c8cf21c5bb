"""Sample data in the Instacart Market Basket (Kaggle) file layout, at any fraction of the real size.

`write_sample(out, scale, seed)` writes the six Kaggle CSV files. At scale 1 every count equals the real
dataset's; smaller scales shrink users, orders and order lines proportionally while aisles, departments
and products stay whole. Users are generated in chunks with numpy, so memory stays flat as the scale grows,
and each chunk draws from its own random stream, so the files depend only on (seed, scale).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from orchard_dev.instacart_sample import vocabulary

# The real dataset's counts (scale 1).
USERS = 206_209
TRAIN_ORDERS = 131_209
TEST_ORDERS = 75_000
PRIOR_ORDERS = 3_214_874
PRIOR_LINES = 32_434_489
TRAIN_LINES = 1_384_617
PRODUCTS = 49_688

MIN_SCALE = 1e-5  # two users: one train, one test
CHUNK_USERS = 4_096  # ~350 MB peak whatever the scale
MIN_ORDERS, MAX_ORDERS = 4, 100  # orders per user, the last one included
MAX_BASKET = 145
MAX_DAYS = 30

# Column headers exactly as in the Kaggle files.
HEADERS = {
    "aisles.csv": ["aisle_id", "aisle"],
    "departments.csv": ["department_id", "department"],
    "products.csv": ["product_id", "product_name", "aisle_id", "department_id"],
    "orders.csv": [
        "order_id",
        "user_id",
        "eval_set",
        "order_number",
        "order_dow",
        "order_hour_of_day",
        "days_since_prior_order",
    ],
    "order_products__prior.csv": ["order_id", "product_id", "add_to_cart_order", "reordered"],
    "order_products__train.csv": ["order_id", "product_id", "add_to_cart_order", "reordered"],
}
FILES = list(HEADERS)

# Share of orders by weekday (0 = Sunday in Kaggle's reading) and by hour, shaped like the real data.
DOW_SHARE = np.array([19.5, 17.5, 13.0, 12.0, 11.7, 12.8, 13.5])
HOUR_SHARE = np.array(
    [0.7, 0.4, 0.2, 0.2, 0.2, 0.3, 0.9, 2.8, 5.3, 7.6, 8.5, 8.5, 8.4, 8.3, 8.3, 8.2, 7.9, 6.7, 5.1, 3.9, 3.0,
     2.5, 2.0, 1.3]
)  # fmt: skip

EVAL_SETS = pa.array(["prior", "train", "test"])
HOURS = pa.array([f"{h:02d}" for h in range(24)])  # Kaggle writes the hour zero-padded: 08
DAYS = pa.array([None] + [f"{d}.0" for d in range(MAX_DAYS + 1)])  # float text, empty on a first order


class SampleError(ValueError):
    """A sample cannot be written as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Counts:
    users: int
    train_orders: int
    test_orders: int
    prior_orders: int
    prior_lines: int
    train_lines: int

    @property
    def orders(self) -> int:
        return self.prior_orders + self.train_orders + self.test_orders


@dataclass(frozen=True)
class Chunk:
    index: int
    first_user: int  # 0-based
    counts: Counts
    first_order_id: int  # 0-based: the chunk's orders get ids first_order_id + 1 ...


def _round(x: float) -> int:
    return int(np.floor(x + 0.5))


def counts_for(scale: float) -> Counts:
    """The dataset's counts at a scale, refusing scales outside (0, 1] or too small to keep its shape."""
    if not isinstance(scale, int | float) or not np.isfinite(scale) or scale <= 0 or scale > 1:
        raise SampleError(f"--scale must be greater than 0 and at most 1 (1 = the real dataset), got {scale}")
    if scale < MIN_SCALE:
        raise SampleError(
            f"--scale {scale} is too small to hold one train and one test user: use {MIN_SCALE} or more"
        )
    users = _round(USERS * scale)
    train = _round(TRAIN_ORDERS * scale)
    return Counts(
        users=users,
        train_orders=train,
        test_orders=users - train,
        prior_orders=_round(PRIOR_ORDERS * scale),
        prior_lines=_round(PRIOR_LINES * scale),
        train_lines=_round(TRAIN_LINES * scale),
    )


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer total in proportion to weights, exactly (largest remainder)."""
    weights = np.asarray(weights, dtype=np.float64)
    share = total * weights / weights.sum()
    out = np.floor(share).astype(np.int64)
    rest = total - int(out.sum())
    if rest:
        out[np.argsort(-(share - out), kind="stable")[:rest]] += 1
    return out


def plan(scale: float, chunk_users: int = CHUNK_USERS) -> list[Chunk]:
    """Cut the users into chunks and give each its exact share of every count."""
    total = counts_for(scale)
    n_chunks = -(-total.users // chunk_users)
    users = np.full(n_chunks, chunk_users, dtype=np.int64)
    users[-1] = total.users - chunk_users * (n_chunks - 1)
    train = _allocate(total.train_orders, users)
    prior = _allocate(total.prior_orders, users)
    prior_lines = _allocate(total.prior_lines, prior)
    train_lines = _allocate(total.train_lines, train)
    chunks, first_user, first_order = [], 0, 0
    for i in range(n_chunks):
        counts = Counts(
            users=int(users[i]),
            train_orders=int(train[i]),
            test_orders=int(users[i] - train[i]),
            prior_orders=int(prior[i]),
            prior_lines=int(prior_lines[i]),
            train_lines=int(train_lines[i]),
        )
        chunks.append(Chunk(i, first_user, counts, first_order))
        first_user += counts.users
        first_order += counts.orders
    return chunks


def _fix_total(values: np.ndarray, target: int, lo: int, hi: int, rng: np.random.Generator) -> np.ndarray:
    """Nudge integer draws by one at a time, on random elements, until they sum to target within [lo, hi]."""
    values = np.clip(values, lo, hi).astype(np.int64)
    if not lo * len(values) <= target <= hi * len(values):
        raise SampleError(f"cannot spread {target} over {len(values)} items within [{lo}, {hi}]")
    while (diff := target - int(values.sum())) != 0:
        room = np.flatnonzero(values < hi) if diff > 0 else np.flatnonzero(values > lo)
        pick = rng.choice(room, size=min(abs(diff), room.size), replace=False)
        values[pick] += 1 if diff > 0 else -1
    return values


# ---------------------------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class Catalog:
    aisle_of: np.ndarray  # per product (index = product_id - 1), 1-based aisle id
    department_of: np.ndarray
    names: list[str]
    popularity_cdf: np.ndarray  # cumulative popularity over products, for sampling with searchsorted


def build_catalog(seed: int) -> Catalog:
    """Products spread over the aisles like Kaggle's, with names and a long-tailed popularity."""
    rng = np.random.default_rng([seed, 0])
    dept_index = {name: i + 1 for i, name in enumerate(vocabulary.DEPARTMENTS)}
    aisle_dept = np.array([d for _, d in vocabulary.AISLES])
    aisle_of = np.empty(PRODUCTS, dtype=np.int64)
    start = 0
    for dept, n_products in vocabulary.DEPARTMENT_PRODUCTS.items():
        aisles = np.flatnonzero(aisle_dept == dept_index[dept]) + 1
        per_aisle = _allocate(n_products, rng.lognormal(0.0, 0.5, aisles.size))
        aisle_of[start : start + n_products] = np.repeat(aisles, per_aisle)
        start += n_products
    aisle_of = aisle_of[rng.permutation(PRODUCTS)]  # product ids are not grouped by aisle in Kaggle either
    department_of = aisle_dept[aisle_of - 1]

    dept_names = np.array(vocabulary.DEPARTMENTS)[department_of - 1]
    organic_share = np.array(
        [vocabulary.ORGANIC_SHARE.get(d, vocabulary.ORGANIC_SHARE_DEFAULT) for d in dept_names]
    )
    organic = rng.random(PRODUCTS) < organic_share

    # Popularity: a heavy-tailed draw per product, scaled so departments get their real share of lines;
    # organic produce and dairy sell better than the rest of their aisle.
    raw = rng.lognormal(0.0, 1.9, PRODUCTS) * np.where(
        organic & np.isin(dept_names, ["produce", "dairy eggs"]), 2.0, 1.0
    )
    weight = np.empty(PRODUCTS)
    for dept, share in vocabulary.DEPARTMENT_LINE_SHARE.items():
        members = dept_names == dept
        weight[members] = share * raw[members] / raw[members].sum()
    cdf = np.cumsum(weight)
    cdf /= cdf[-1]

    names = _product_names(rng, aisle_of, organic)
    return Catalog(aisle_of=aisle_of, department_of=department_of, names=names, popularity_cdf=cdf)


def _product_names(rng: np.random.Generator, aisle_of: np.ndarray, organic: np.ndarray) -> list[str]:
    nouns = []
    for name, _ in vocabulary.AISLES:
        listed = vocabulary.AISLE_NOUNS.get(name)
        nouns.append(listed.split("|") if listed else [name.title()])
    produce = vocabulary.DEPARTMENTS.index("produce") + 1
    aisle_dept = [d for _, d in vocabulary.AISLES]
    brand = rng.integers(0, len(vocabulary.BRANDS), PRODUCTS)
    modifier = rng.random(PRODUCTS)
    noun_pick = rng.random(PRODUCTS)
    with_brand = rng.random(PRODUCTS) < 0.7
    seen: set[str] = set()
    names = []
    for i in range(PRODUCTS):
        aisle = aisle_of[i] - 1
        words = nouns[aisle]
        is_produce = aisle_dept[aisle] == produce
        modifiers = (
            vocabulary.PRODUCE_MODIFIERS
            if is_produce
            else vocabulary.NON_FOOD_MODIFIERS
            if vocabulary.DEPARTMENTS[aisle_dept[aisle] - 1] in vocabulary.NON_FOOD_DEPARTMENTS
            else vocabulary.MODIFIERS
        )
        parts = ["Organic"] if organic[i] else []
        if with_brand[i] and not is_produce:
            parts.append(vocabulary.BRANDS[brand[i]])
        if modifier[i] < 0.75 or not is_produce:
            parts.append(modifiers[int(modifier[i] * len(modifiers)) % len(modifiers)])
        parts.append(words[int(noun_pick[i] * len(words))])
        base = " ".join(parts)
        name, k = base, 0
        while name in seen:  # Kaggle's product names are unique: add a pack size, then a number
            size = vocabulary.SIZES[(i + k) % len(vocabulary.SIZES)]
            name = f"{base}, {size}" if k < len(vocabulary.SIZES) else f"{base} No. {k}"
            k += 1
        seen.add(name)
        names.append(name)
    return names


# ------------------------------------------------------------------------------------------------ orders


@dataclass
class ChunkData:
    orders: pa.Table
    prior: pa.Table
    train: pa.Table


def _draw_products(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), cdf.size - 1) + 1


def generate_chunk(chunk: Chunk, cat: Catalog, seed: int) -> ChunkData:
    """All orders and order lines of one chunk of users."""
    rng = np.random.default_rng([seed, 1, chunk.index])
    c = chunk.counts
    n_users = c.users

    # Orders per user (the last one included): long-tailed, 4 to 100, summing to the chunk's count.
    n_orders = 4 + np.floor(rng.gamma(0.75, 17.0, n_users)).astype(np.int64)
    n_orders = _fix_total(n_orders, c.prior_orders + n_users, MIN_ORDERS, MAX_ORDERS, rng)
    train_user = np.zeros(n_users, dtype=bool)
    train_user[rng.choice(n_users, size=c.train_orders, replace=False)] = True

    total = int(n_orders.sum())
    user = np.repeat(np.arange(n_users), n_orders)
    first = np.cumsum(n_orders) - n_orders
    order_number = np.arange(total) - first[user] + 1
    last = order_number == n_orders[user]
    eval_set = np.where(last, np.where(train_user[user], 1, 2), 0)
    order_id = chunk.first_order_id + 1 + rng.permutation(total)

    # When: each user has a habitual weekday and hour and sticks to them about half of the time.
    habit_dow = rng.choice(7, size=n_users, p=DOW_SHARE / DOW_SHARE.sum())
    habit_hour = rng.choice(24, size=n_users, p=HOUR_SHARE / HOUR_SHARE.sum())
    dow = np.where(
        rng.random(total) < 0.45, habit_dow[user], rng.choice(7, size=total, p=DOW_SHARE / DOW_SHARE.sum())
    )
    near_habit = np.clip(habit_hour[user] + np.rint(rng.normal(0, 1.5, total)).astype(np.int64), 0, 23)
    hour = np.where(
        rng.random(total) < 0.5, near_habit, rng.choice(24, size=total, p=HOUR_SHARE / HOUR_SHARE.sum())
    )
    # Days since the prior order: frequent shoppers come back sooner; weekly rhythms; capped at 30.
    cadence = np.exp(rng.normal(np.log(3.0 + 130.0 / n_orders), 0.35))
    gap = rng.gamma(2.0, cadence[user] / 2.0)
    weekly = (rng.random(total) < 0.25) & (gap >= 4)
    gap = np.where(weekly, np.rint(gap / 7) * 7, gap)
    days = np.clip(np.rint(gap), 0, MAX_DAYS).astype(np.int64)
    days_code = np.where(order_number == 1, 0, days + 1)

    # Basket sizes: each user has a typical size; lines sum exactly to the chunk's counts.
    typical = np.exp(rng.normal(np.log(8.0), 0.45, n_users))
    r = 2.5
    basket = 1 + rng.negative_binomial(r, r / (r + typical[user]))
    basket = np.where(eval_set == 2, 0, np.clip(basket, 1, MAX_BASKET))
    is_prior, is_train = eval_set == 0, eval_set == 1
    basket[is_prior] = _fix_total(basket[is_prior], c.prior_lines, 1, MAX_BASKET, rng)
    basket[is_train] = _fix_total(basket[is_train], c.train_lines, 1, MAX_BASKET, rng)

    line_order, line_product = _fill_baskets(rng, cat, user, basket, typical)
    # Position in the cart and whether the user bought the product in an earlier order.
    starts = np.cumsum(basket) - basket
    add_to_cart = np.arange(line_order.size) - starts[line_order] + 1
    seen_key = user[line_order] * (PRODUCTS + 1) + line_product
    reordered = np.ones(line_order.size, dtype=np.int64)
    reordered[np.unique(seen_key, return_index=True)[1]] = 0

    orders = pa.table(
        {
            "order_id": order_id,
            "user_id": chunk.first_user + 1 + user,
            "eval_set": EVAL_SETS.take(pa.array(eval_set)),
            "order_number": order_number,
            "order_dow": dow,
            "order_hour_of_day": HOURS.take(pa.array(hour)),
            "days_since_prior_order": DAYS.take(pa.array(days_code)),
        }
    )
    # Kaggle's line files are sorted by order id, then by position in the cart.
    line_order_id = order_id[line_order]
    by_id = np.argsort(line_order_id, kind="stable")
    line_order, line_order_id = line_order[by_id], line_order_id[by_id]
    line_product, add_to_cart, reordered = line_product[by_id], add_to_cart[by_id], reordered[by_id]
    line_set = eval_set[line_order]

    def lines(mask: np.ndarray) -> pa.Table:
        return pa.table(
            {
                "order_id": line_order_id[mask],
                "product_id": line_product[mask],
                "add_to_cart_order": add_to_cart[mask],
                "reordered": reordered[mask],
            }
        )

    return ChunkData(orders=orders, prior=lines(line_set == 0), train=lines(line_set == 1))


def _fill_baskets(
    rng: np.random.Generator, cat: Catalog, user: np.ndarray, basket: np.ndarray, typical: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct products for every basket, mostly from each user's own favourites.

    Every user has a repertoire of favourites (drawn by global popularity) that they buy again and again,
    the first ones most often; some lines explore the catalogue. Reorders thereby follow each user's own
    history. Returns (order index, product id) per line, grouped by order in cart order.
    """
    n_users = typical.size
    rep_size = np.maximum(3, np.rint(typical * np.exp(rng.normal(np.log(2.0), 0.4, n_users)))).astype(
        np.int64
    )
    rep_start = np.cumsum(rep_size) - rep_size
    repertoire = _draw_products(rng, cat.popularity_cdf, int(rep_size.sum()))
    explore_rate = rng.beta(2.0, 8.0, n_users)

    need = basket.copy()
    done_order, done_product = [], []
    pending = np.flatnonzero(need > 0)
    carry_order = np.empty(0, dtype=np.int64)
    carry_product = np.empty(0, dtype=np.int64)
    first_round = True
    while pending.size:
        n_cand = np.repeat(pending, 2 * need[pending] + 2)
        u = user[n_cand]
        product = _draw_products(rng, cat.popularity_cdf, n_cand.size)
        if first_round:
            # Favourites: the k-th of R is picked with probability falling like a power of k.
            from_rep = rng.random(n_cand.size) >= explore_rate[u]
            pos = np.floor(rep_size[u] * rng.random(n_cand.size) ** 2.0).astype(np.int64)
            product = np.where(from_rep, repertoire[rep_start[u] + pos], product)
            first_round = False
        cand_order = np.concatenate([carry_order, n_cand])
        cand_product = np.concatenate([carry_product, product])
        by_order = np.argsort(cand_order, kind="stable")
        cand_order, cand_product = cand_order[by_order], cand_product[by_order]
        # Keep the first occurrence of each product within an order, then the first `basket` of those.
        first = np.zeros(cand_order.size, dtype=bool)
        first[np.unique(cand_order * (PRODUCTS + 1) + cand_product, return_index=True)[1]] = True
        cand_order, cand_product = cand_order[first], cand_product[first]
        group_start = np.searchsorted(cand_order, cand_order, side="left")
        keep = (np.arange(cand_order.size) - group_start) < basket[cand_order]
        cand_order, cand_product = cand_order[keep], cand_product[keep]
        have = np.bincount(cand_order, minlength=basket.size)
        need[pending] = basket[pending] - have[pending]  # orders completed earlier stay at 0
        full = need[cand_order] == 0
        done_order.append(cand_order[full])
        done_product.append(cand_product[full])
        carry_order, carry_product = cand_order[~full], cand_product[~full]
        pending = np.flatnonzero(need > 0)
    line_order = np.concatenate(done_order)
    line_product = np.concatenate(done_product)
    by_order = np.argsort(line_order, kind="stable")
    return line_order[by_order], line_product[by_order]


# ------------------------------------------------------------------------------------------------ files


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise SampleError(f"--out {out} is a file, not a directory: give a directory path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SampleError(
            f"cannot create output directory {out}: {exc.strerror}; choose a writable --out"
        ) from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise SampleError(
            f"output directory {out} is not writable: choose a writable --out or fix its permissions"
        )


class _CsvFile:
    """A Kaggle-style CSV written in batches: our own header, no quotes, written to .partial then renamed."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.file = open(self.partial, "wb")  # noqa: SIM115 - closed in close()
        # Arrow quotes header names and strings; Kaggle quotes nothing in these files
        self.file.write((",".join(HEADERS[path.name]) + "\n").encode())
        options = pacsv.WriteOptions(include_header=False, quoting_style="none")
        self.writer = pacsv.CSVWriter(self.file, schema, write_options=options)

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(table)

    def close(self) -> None:
        self.writer.close()
        self.file.close()

    def commit(self) -> None:
        os.replace(self.partial, self.path)


def _write_small(out: Path, name: str, rows: list[tuple]) -> Path:
    partial = out / (name + ".partial")
    with open(partial, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")  # minimal quoting, as in Kaggle's products.csv
        w.writerow(HEADERS[name])
        w.writerows(rows)
    return partial


def write_sample(
    out: Path | str,
    scale: float,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Counts:
    """Write the six files into `out` and return their counts. Files appear only once complete."""
    out = Path(out)
    chunks = plan(scale)
    _check_out_dir(out)
    cat = build_catalog(seed)
    partials = [
        _write_small(out, "aisles.csv", [(i + 1, name) for i, (name, _) in enumerate(vocabulary.AISLES)]),
        _write_small(
            out, "departments.csv", [(i + 1, name) for i, name in enumerate(vocabulary.DEPARTMENTS)]
        ),
        _write_small(
            out,
            "products.csv",
            [(i + 1, cat.names[i], int(cat.aisle_of[i]), int(cat.department_of[i])) for i in range(PRODUCTS)],
        ),
    ]
    big: dict[str, _CsvFile] = {}
    try:
        for chunk in chunks:
            data = generate_chunk(chunk, cat, seed)
            for name, table in (
                ("orders.csv", data.orders),
                ("order_products__prior.csv", data.prior),
                ("order_products__train.csv", data.train),
            ):
                if name not in big:
                    big[name] = _CsvFile(out / name, table.schema)
                big[name].write(table)
            if progress:
                progress(chunk.index + 1, len(chunks))
        for f in big.values():
            f.close()
    except BaseException:
        for f in big.values():
            f.close()
            f.partial.unlink(missing_ok=True)
        for p in partials:
            p.unlink(missing_ok=True)
        raise
    for p in partials:
        os.replace(p, out / p.name.removesuffix(".partial"))
    for f in big.values():
        f.commit()
    return counts_for(scale)
