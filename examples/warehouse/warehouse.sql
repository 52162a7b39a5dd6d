-- The example's warehouse: accounts and their orders. Loaded into
-- .statecraft/warehouse the first time the connection is used.
CREATE TABLE accounts (owner text PRIMARY KEY, name text NOT NULL, tier text NOT NULL);
INSERT INTO accounts VALUES
  ('ada', 'Ada Lovelace', 'gold'),
  ('bob', 'Bob Stone', 'silver');

CREATE TABLE orders (id text PRIMARY KEY, owner text NOT NULL REFERENCES accounts, status text NOT NULL, total numeric(10, 2) NOT NULL);
INSERT INTO orders VALUES
  ('A1001', 'ada', 'delivered', 40.00),
  ('A1003', 'ada', 'shipped', 129.99),
  ('A0990', 'ada', 'closed', 12.50),
  ('B2001', 'bob', 'processing', 18.00);
