-- salesflow schema, version 2: a rejected row keeps the fields that were fine.
-- Applied by `salesflow` itself (see src/load/migrate.rs); never run by hand.
--
-- A row is rejected for what is wrong with it, but the rest of it is often good: sale 1003
-- of the reference file is rejected for quantity -1, yet it is the only sale of product 7
-- (Office Desk). With its other fields kept, the warehouse can learn the product and retailer
-- catalogue from rejected rows too.
--
-- Each column holds the value the loader would have loaded into the raw.sales column of the
-- same name (same type and scale, same trimming, null tokens, canonical case, currency code
-- split off the price, date formats) when that field parsed and passed its own checks, and
-- NULL when the field was missing or is itself invalid: named by a reason, either as
-- `<column>:missing|invalid|out_of_range` or by a failed rule on that column (e.g.
-- quantity_positive). Rows rejected before there are fields (unbalanced_quote, field_count,
-- invalid_utf8, invalid_text), and rows quarantined before this migration, have NULL in all.
--
-- Nullable columns without a default: adding them changes only the catalog, no table rewrite.
alter table raw.sales_rejects
    add column sale_id       bigint,
    add column product_id    bigint,
    add column product_name  text,
    add column brand         text,
    add column category      text,
    add column retailer_id   bigint,
    add column retailer_name text,
    add column channel       text,
    add column location      text,
    add column quantity      integer,
    add column price         numeric(12,2),  -- the line amount, as raw.sales.price
    add column sale_date     date;

-- No new index. Rejects are a small share of the rows, and they are read either by load
-- (sales_rejects_load_id_idx, from version 1) or all at once, to collect the product and
-- retailer attributes they carry: a sequential scan that no index would speed up. An index
-- on product_id or retailer_id would only add work to every quarantined row.

comment on table raw.sales_rejects is
    'Quarantine: one row per input row that could not become a sale, with its raw text, '
    'reason codes and message. sale_id .. sale_date are the values of the fields that parsed '
    'and passed their own checks (as raw.sales would hold them), NULL where the field was '
    'missing or itself invalid, and NULL throughout for record-level rejects '
    '(unbalanced_quote, field_count, invalid_utf8, invalid_text) and rows rejected before '
    'schema version 2.';
comment on column raw.sales_rejects.sale_id is
    'SaleID if it parsed and passed its own checks, else NULL.';
comment on column raw.sales_rejects.product_id is
    'ProductID if it parsed and passed its own checks, else NULL (also when blank).';
comment on column raw.sales_rejects.product_name is
    'ProductName, trimmed, if present and valid, else NULL.';
comment on column raw.sales_rejects.brand is
    'Brand, trimmed, if present and valid, else NULL.';
comment on column raw.sales_rejects.category is
    'Category, trimmed, if present and valid, else NULL.';
comment on column raw.sales_rejects.retailer_id is
    'RetailerID if it parsed and passed its own checks, else NULL.';
comment on column raw.sales_rejects.retailer_name is
    'RetailerName, trimmed, if present and valid, else NULL.';
comment on column raw.sales_rejects.channel is
    'Channel in its canonical spelling (Online/Offline) if present and valid, else NULL.';
comment on column raw.sales_rejects.location is
    'Location, trimmed, if present and valid, else NULL.';
comment on column raw.sales_rejects.quantity is
    'Quantity if it parsed and passed its own checks (e.g. quantity_positive), else NULL.';
comment on column raw.sales_rejects.price is
    'Price (the line amount, currency code split off, at the contract''s scale) if it parsed '
    'and passed its own checks (e.g. price_non_negative), else NULL.';
comment on column raw.sales_rejects.sale_date is
    'Date if it parsed in an accepted format and passed its own checks '
    '(e.g. sale_date_plausible), else NULL.';
