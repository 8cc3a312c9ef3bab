//! Synthetic sales in the reference feed's schema, for demos and benchmarks.
//!
//! Deterministic per seed (ChaCha8, whose output is specified, not an implementation
//! detail). The catalogue starts with the reference file's products and retailers and
//! adds synthetic ones, so indexes see a realistic number of distinct keys. With a
//! defect rate, rows carry the defects of the reference feed and of the other files the data
//! quality policy expects (README, "Every row has exactly one outcome"), so that a generated
//! file exercises every outcome.

use std::io::{self, Write};

use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const HEADER: [&str; 12] = [
    "SaleID",
    "ProductID",
    "ProductName",
    "Brand",
    "Category",
    "RetailerID",
    "RetailerName",
    "Channel",
    "Location",
    "Quantity",
    "Price",
    "Date",
];

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub rows: u64,
    pub seed: u64,
    /// Share of rows (0..=1) that carry one defect.
    pub defect_rate: f64,
    /// The first SaleID; ids increase by one per row.
    pub first_sale_id: i64,
    pub first_date: NaiveDate,
    pub days: i64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            rows: 1000,
            seed: 42,
            defect_rate: 0.0,
            first_sale_id: 1,
            first_date: NaiveDate::from_ymd_opt(2022, 1, 1).expect("valid date"),
            days: 3 * 365,
        }
    }
}

struct Product {
    id: u32,
    name: String,
    brand: String,
    category: &'static str,
    unit_price: u32,
}

struct Retailer {
    id: u32,
    name: String,
    channel: &'static str,
    location: &'static str,
}

const CATEGORIES: [&str; 3] = ["Electronics", "Appliances", "Furniture"];
const CITIES: [&str; 6] = [
    "New York",
    "San Francisco",
    "Chicago",
    "Austin",
    "Seattle",
    "Boston",
];

fn catalogue() -> (Vec<Product>, Vec<Retailer>) {
    let reference = [
        (1, "Laptop", "BrandA", "Electronics", 1500),
        (2, "Coffee Maker", "BrandB", "Appliances", 100),
        (3, "Smartphone", "BrandC", "Electronics", 800),
        (4, "Desk Chair", "BrandD", "Furniture", 300),
        (5, "Blender", "BrandE", "Appliances", 200),
        (6, "Desk Lamp", "BrandF", "Electronics", 35),
        (7, "Office Desk", "BrandG", "Furniture", 500),
        (8, "Coffee Machine", "BrandH", "Appliances", 200),
    ];
    let mut products: Vec<Product> = reference
        .iter()
        .map(|&(id, name, brand, category, unit_price)| Product {
            id,
            name: name.into(),
            brand: brand.into(),
            category,
            unit_price,
        })
        .collect();
    for id in 9..=200u32 {
        products.push(Product {
            id,
            name: format!("Product {id}"),
            brand: format!("Brand{}", id % 40),
            category: CATEGORIES[id as usize % 3],
            unit_price: 5 + (id * 37) % 1200,
        });
    }
    let mut retailers = vec![
        Retailer {
            id: 1,
            name: "TechGear".into(),
            channel: "Online",
            location: "",
        },
        Retailer {
            id: 2,
            name: "HomeEssentials".into(),
            channel: "Offline",
            location: "New York",
        },
        Retailer {
            id: 3,
            name: "GadgetWorld".into(),
            channel: "Offline",
            location: "San Francisco",
        },
    ];
    for id in 4..=50u32 {
        let online = id % 3 == 0;
        retailers.push(Retailer {
            id,
            name: format!("Retailer {id}"),
            channel: if online { "Online" } else { "Offline" },
            location: if online {
                ""
            } else {
                CITIES[id as usize % CITIES.len()]
            },
        });
    }
    (products, retailers)
}

/// The defects a generated row can carry.
const DEFECTS: usize = 12;

/// Writes `options.rows` sales as CSV (header first) to `out`.
pub fn generate(options: &GenerateOptions, out: impl Write) -> io::Result<()> {
    let (products, retailers) = catalogue();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let builder = {
        let mut builder = csv::WriterBuilder::new();
        builder.flexible(true);
        builder
    };
    let mut writer = builder.from_writer(io::BufWriter::with_capacity(1 << 20, out));
    writer.write_record(HEADER)?;
    let mut previous_id = options.first_sale_id;
    let mut fields: Vec<String> = vec![String::new(); 12];
    for index in 0..options.rows {
        let sale_id = options.first_sale_id + index as i64;
        // Skewed towards the reference products, like a real catalogue's best sellers.
        let product = if rng.gen_bool(0.5) {
            &products[rng.gen_range(0..8)]
        } else {
            &products[rng.gen_range(0..products.len())]
        };
        let retailer = &retailers[rng.gen_range(0..retailers.len())];
        let quantity: u32 = rng.gen_range(1..=5);
        let date = options.first_date + Duration::days(rng.gen_range(0..options.days.max(1)));
        let values: [String; 12] = [
            sale_id.to_string(),
            product.id.to_string(),
            product.name.clone(),
            product.brand.clone(),
            product.category.to_string(),
            retailer.id.to_string(),
            retailer.name.clone(),
            retailer.channel.to_string(),
            retailer.location.to_string(),
            quantity.to_string(),
            (product.unit_price * quantity).to_string(),
            date.format("%Y-%m-%d").to_string(),
        ];
        for (slot, value) in fields.iter_mut().zip(values) {
            *slot = value;
        }
        let mut shape = Shape::Record;
        if options.defect_rate > 0.0 && rng.gen_bool(options.defect_rate.min(1.0)) {
            shape = apply_defect(rng.gen_range(0..DEFECTS), &mut fields, previous_id);
        }
        match shape {
            Shape::Record => {
                previous_id = fields[0].parse().unwrap_or(sale_id);
                writer.write_record(&fields)?;
            }
            Shape::ExtraField => {
                fields.push("extra".into());
                writer.write_record(&fields)?;
                fields.pop();
            }
            Shape::UnbalancedQuote => {
                // No CSV writer produces this on purpose: write the line by hand.
                let mut out = writer.into_inner().map_err(|e| e.into_error())?;
                writeln!(out, "{},\"{}", fields[0], fields[1..].join(","))?;
                writer = builder.from_writer(out);
            }
        }
    }
    writer.flush()?;
    Ok(())
}

/// How a defective row is written.
enum Shape {
    Record,
    /// One field too many: rejected.
    ExtraField,
    /// A quote that never closes: the line is quarantined, the next lines survive.
    UnbalancedQuote,
}

/// Changes `fields` to carry one defect.
fn apply_defect(defect: usize, fields: &mut [String], previous_id: i64) -> Shape {
    match defect {
        0 => fields[1] = " ".into(), // blank ProductID: flagged
        1 => fields[10] = format!("{}USD", fields[10]), // currency suffix: flagged
        2 => fields[9] = format!("-{}", fields[9]), // negative quantity: rejected
        3 => fields[11] = fields[11].replace('-', "/"), // YYYY/MM/DD: flagged
        4 => fields[8] = "None".into(), // null token: flagged
        5 => fields[6] = format!("  {}  ", fields[6]), // padding: flagged
        6 => fields[0] = previous_id.to_string(), // re-used SaleID: duplicate
        7 => fields[10] = "ten".into(), // malformed price: rejected
        8 => fields[11] = String::new(), // missing date: rejected
        9 => fields[7] = fields[7].to_lowercase(), // channel case: flagged
        10 => return Shape::ExtraField,
        _ => return Shape::UnbalancedQuote,
    }
    Shape::Record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(options: &GenerateOptions) -> String {
        let mut out = Vec::new();
        generate(options, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let options = GenerateOptions {
            rows: 500,
            defect_rate: 0.1,
            ..GenerateOptions::default()
        };
        assert_eq!(generated(&options), generated(&options));
        let other = GenerateOptions {
            seed: 7,
            ..options.clone()
        };
        assert_ne!(generated(&options), generated(&other));
    }

    #[test]
    fn clean_rows_follow_the_reference_schema() {
        let text = generated(&GenerateOptions {
            rows: 200,
            ..GenerateOptions::default()
        });
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(reader.headers().unwrap(), HEADER.as_slice());
        let mut count = 0;
        for (index, row) in reader.records().enumerate() {
            let row = row.unwrap();
            assert_eq!(row[0].parse::<usize>().unwrap(), index + 1);
            let quantity: u32 = row[9].parse().unwrap();
            let price: u32 = row[10].parse().unwrap();
            assert_eq!(price % quantity, 0, "price is the line amount");
            assert_eq!(&row[7] == "Online", row[8].is_empty());
            count += 1;
        }
        assert_eq!(count, 200);
    }
}
