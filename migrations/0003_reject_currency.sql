-- salesflow schema, version 3: a rejected row keeps the currency of its price.
-- Applied by `salesflow` itself (see src/load/migrate.rs); never run by hand.
--
-- Version 2 kept the fields of a reject that were fine, the price among them, but not the
-- currency code the loader splits off it ("USD 500" -> price 500.00, currency USD), so a
-- kept price did not say what it was counted in. Like the other kept fields, it is the
-- value raw.sales.currency would hold, NULL when the price itself was missing or invalid (or
-- had no code), and NULL for record-level rejects and rows quarantined before this version.
--
-- A nullable column without a default: adding it changes only the catalog.
alter table raw.sales_rejects add column currency text;

comment on column raw.sales_rejects.currency is
    'The currency code split off Price, as raw.sales.currency would hold it; NULL when the '
    'price was missing or invalid, when it had no code, and for rows rejected before schema '
    'version 3.';
