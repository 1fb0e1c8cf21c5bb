"""The Instacart catalogue for the sample generator: the 21 departments, 134 aisles and product-name words.

Department and aisle names and ids follow the Kaggle dataset; product names are made up from these words.
"""

from __future__ import annotations

DEPARTMENTS = [
    "frozen", "other", "bakery", "produce", "alcohol", "international", "beverages", "pets",
    "dry goods pasta", "bulk", "personal care", "meat seafood", "pantry", "breakfast", "canned goods",
    "dairy eggs", "household", "babies", "snacks", "deli", "missing",
]  # fmt: skip

# (aisle, department_id) in Kaggle's aisle_id order.
AISLES = [
    ("prepared soups salads", 20), ("specialty cheeses", 16), ("energy granola bars", 19),
    ("instant foods", 9), ("marinades meat preparation", 13), ("other", 2), ("packaged meat", 12),
    ("bakery desserts", 3), ("pasta sauce", 9), ("kitchen supplies", 17), ("cold flu allergy", 11),
    ("fresh pasta", 9), ("prepared meals", 20), ("tofu meat alternatives", 20), ("packaged seafood", 12),
    ("fresh herbs", 4), ("baking ingredients", 13), ("bulk dried fruits vegetables", 10),
    ("oils vinegars", 13), ("oral hygiene", 11), ("packaged cheese", 16), ("hair care", 11),
    ("popcorn jerky", 19), ("fresh fruits", 4), ("soap", 11), ("coffee", 7), ("beers coolers", 5),
    ("red wines", 5), ("honeys syrups nectars", 13), ("latino foods", 6), ("refrigerated", 7),
    ("packaged produce", 4), ("kosher foods", 6), ("frozen meat seafood", 1), ("poultry counter", 12),
    ("butter", 16), ("ice cream ice", 1), ("frozen meals", 1), ("seafood counter", 12),
    ("dog food care", 8), ("cat food care", 8), ("frozen vegan vegetarian", 1), ("buns rolls", 3),
    ("eye ear care", 11), ("candy chocolate", 19), ("mint gum", 19), ("vitamins supplements", 11),
    ("breakfast bars pastries", 14), ("packaged poultry", 12), ("fruit vegetable snacks", 19),
    ("preserved dips spreads", 13), ("frozen breakfast", 1), ("cream", 16), ("paper goods", 17),
    ("shave needs", 11), ("diapers wipes", 18), ("granola", 14), ("frozen breads doughs", 1),
    ("canned meals beans", 15), ("trash bags liners", 17), ("cookies cakes", 19), ("white wines", 5),
    ("grains rice dried goods", 9), ("energy sports drinks", 7), ("protein meal replacements", 11),
    ("asian foods", 6), ("fresh dips tapenades", 20), ("bulk grains rice dried goods", 10),
    ("soup broth bouillon", 15), ("digestion", 11), ("refrigerated pudding desserts", 16),
    ("condiments", 13), ("facial care", 11), ("dish detergents", 17), ("laundry", 17),
    ("indian foods", 6), ("soft drinks", 7), ("crackers", 19), ("frozen pizza", 1), ("deodorants", 11),
    ("canned jarred vegetables", 15), ("baby accessories", 18), ("fresh vegetables", 4), ("milk", 16),
    ("food storage", 17), ("eggs", 16), ("more household", 17), ("spreads", 13),
    ("salad dressing toppings", 13), ("cocoa drink mixes", 7), ("soy lactosefree", 16),
    ("baby food formula", 18), ("breakfast bakery", 3), ("tea", 7), ("canned meat seafood", 15),
    ("lunch meat", 20), ("baking supplies decor", 13), ("juice nectars", 7), ("canned fruit applesauce", 15),
    ("missing", 21), ("air fresheners candles", 17), ("baby bath body care", 18), ("ice cream toppings", 13),
    ("spices seasonings", 13), ("doughs gelatins bake mixes", 13), ("hot dogs bacon sausage", 12),
    ("chips pretzels", 19), ("other creams cheeses", 16), ("skin care", 11), ("pickled goods olives", 13),
    ("plates bowls cups flatware", 17), ("bread", 3), ("frozen juice", 1), ("cleaning products", 17),
    ("water seltzer sparkling water", 7), ("frozen produce", 1), ("nuts seeds dried fruit", 19),
    ("first aid", 11), ("frozen dessert", 1), ("yogurt", 16), ("cereal", 14), ("meat counter", 12),
    ("packaged vegetables fruits", 4), ("spirits", 5), ("trail mix snack mix", 19), ("feminine care", 11),
    ("body lotions soap", 11), ("tortillas flat bread", 3), ("frozen appetizers sides", 1),
    ("hot cereal pancake mixes", 14), ("dry pasta", 9), ("beauty", 11), ("muscles joints pain relief", 11),
    ("specialty wines champagnes", 5),
]  # fmt: skip

# Products per department in the Kaggle catalogue (49,688 in all) and each department's share of the
# ordered lines there: the generator reproduces both, so department-level analytics look familiar.
DEPARTMENT_PRODUCTS = {
    "personal care": 6563, "snacks": 6264, "pantry": 5371, "beverages": 4365, "frozen": 4007,
    "dairy eggs": 3449, "household": 3085, "canned goods": 2092, "dry goods pasta": 1858, "produce": 1684,
    "bakery": 1516, "deli": 1322, "missing": 1258, "international": 1139, "breakfast": 1115, "babies": 1081,
    "alcohol": 1054, "pets": 972, "meat seafood": 907, "other": 548, "bulk": 38,
}  # fmt: skip
DEPARTMENT_LINE_SHARE = {
    "produce": 29.2, "dairy eggs": 16.7, "snacks": 8.9, "beverages": 8.3, "frozen": 6.9, "pantry": 5.8,
    "bakery": 3.6, "canned goods": 3.3, "deli": 3.2, "dry goods pasta": 2.7, "household": 2.3,
    "breakfast": 2.2, "meat seafood": 2.2, "personal care": 1.4, "babies": 1.3, "international": 0.8,
    "alcohol": 0.5, "pets": 0.3, "missing": 0.2, "other": 0.1, "bulk": 0.1,
}  # fmt: skip

# Share of products whose name starts with "Organic": high in produce and dairy, as in the real data.
ORGANIC_SHARE = {"produce": 0.38, "dairy eggs": 0.25, "bakery": 0.12, "babies": 0.15}
ORGANIC_SHARE_DEFAULT = 0.07

# Head nouns per aisle; aisles not listed use words of their own name.
AISLE_NOUNS = {
    "fresh fruits": "Banana|Strawberries|Avocado|Hass Avocado|Blueberries|Raspberries|Lemon|Limes|"
    "Honeycrisp Apple|Gala Apples|Fuji Apple|Red Grapes|Green Grapes|Peaches|Mango|Bartlett Pears|"
    "Cantaloupe|Navel Orange|Clementines|Kiwi|Pineapple|Blackberries|Nectarines|Plums|Watermelon|Cherries",
    "fresh vegetables": "Baby Spinach|Yellow Onion|Garlic|Cucumber|Zucchini Squash|Broccoli Crown|Carrots|"
    "Kale|Red Onion|Jalapeno Peppers|Red Bell Pepper|Sweet Potato|Russet Potato|Celery|Asparagus|"
    "Cauliflower|Green Beans|Romaine Lettuce|Tomatoes on the Vine|Grape Tomatoes|Portobello Mushrooms|"
    "White Mushrooms|Brussels Sprouts|Beets|Ginger Root|Shallots|Leeks|Corn on the Cob",
    "fresh herbs": "Cilantro|Italian Parsley|Basil|Mint|Dill|Rosemary|Thyme|Chives|Green Onions",
    "packaged vegetables fruits": "Spring Mix|Baby Carrots|Salad Blend|Spinach|Cut Broccoli|Power Greens|"
    "Sugar Snap Peas|Coleslaw Mix|Mixed Berries|Arugula",
    "packaged produce": "Dried Cranberries|Sliced Apples|Fruit Cup|Veggie Tray|Mini Peppers",
    "milk": "Whole Milk|Reduced Fat Milk|2% Milk|Fat Free Milk|Chocolate Milk|Lactose Free Milk|Half Gallon Milk",
    "yogurt": "Greek Yogurt|Whole Milk Yogurt|Strawberry Yogurt|Vanilla Yogurt|Plain Yogurt|Blueberry Yogurt|"
    "Yogurt Tubes|Icelandic Skyr|Nonfat Yogurt",
    "eggs": "Large Brown Eggs|Large Grade A Eggs|Free Range Eggs|Pasture Raised Eggs|Egg Whites",
    "packaged cheese": "Shredded Mozzarella|Sharp Cheddar|String Cheese|Sliced Provolone|Parmesan|Feta Crumbles|"
    "Swiss Slices|Monterey Jack",
    "specialty cheeses": "Brie|Goat Cheese|Gruyere|Manchego|Fresh Mozzarella|Blue Cheese",
    "butter": "Unsalted Butter|Salted Butter|Cultured Butter|Spreadable Butter",
    "cream": "Heavy Whipping Cream|Half & Half|Coffee Creamer|Sour Cream",
    "soy lactosefree": "Unsweetened Almond Milk|Oat Milk|Soy Milk|Coconut Milk|Cashew Milk",
    "bread": "Whole Wheat Bread|Sourdough Bread|Multigrain Bread|White Bread|Rye Bread|Bagels",
    "chips pretzels": "Tortilla Chips|Potato Chips|Pretzels|Kettle Chips|Pita Chips|Veggie Straws",
    "water seltzer sparkling water": "Sparkling Water|Spring Water|Lime Sparkling Water|Seltzer|Mineral Water",
    "soft drinks": "Cola|Ginger Ale|Root Beer|Lemon Lime Soda|Diet Cola",
    "frozen produce": "Frozen Blueberries|Frozen Broccoli|Frozen Peas|Frozen Mango Chunks|Frozen Corn",
    "ice cream ice": "Vanilla Ice Cream|Chocolate Ice Cream|Gelato|Sorbet|Ice Cream Bars",
    "cereal": "Honey Nut Cereal|Granola Cereal|Corn Flakes|Oat Cereal|Bran Flakes",
    "coffee": "Ground Coffee|Whole Bean Coffee|Cold Brew Coffee|Espresso Roast|Coffee Pods",
    "tea": "Green Tea|Chamomile Tea|Black Tea|Earl Grey|Iced Tea",
}

BRANDS = [
    "Happy Valley",
    "Sunny Acres",
    "Green Field",
    "Bay Harbor",
    "Maple Grove",
    "Blue Ridge",
    "Golden Hill",
    "Riverbend",
    "Nature's Table",
    "Pure Harvest",
    "Old Mill",
    "Little Creek",
    "Silver Oak",
    "Country Fresh",
    "Wild Meadow",
    "Stone Bridge",
    "Cedar Lane",
    "Prairie Sun",
    "North Star",
    "Red Barn",
    "Fresh Start",
    "Simply Good",
    "True Kitchen",
    "Urban Pantry",
]
MODIFIERS = [
    "Classic",
    "Original",
    "Light",
    "Extra",
    "Family Size",
    "Unsweetened",
    "Low Sodium",
    "Whole",
    "Natural",
    "Fresh",
    "Mini",
    "Lightly Salted",
    "Vanilla",
    "Honey",
    "Sea Salt",
    "Spicy",
    "Mild",
    "Reduced Fat",
    "Gluten Free",
    "Non-GMO",
    "Double",
    "Smoked",
    "Roasted",
    "Sweet",
    "Crunchy",
    "Creamy",
    "Zesty",
    "Herb",
    "Garlic",
    "Chocolate",
    "Cinnamon",
    "Strawberry",
    "Lemon",
    "Coconut",
    "Maple",
    "Multigrain",
]
# Produce has no brands and plain qualifiers.
PRODUCE_MODIFIERS = [
    "Fresh",
    "Large",
    "Baby",
    "Seedless",
    "Heirloom",
    "Local",
    "Bunch of",
    "Bag of",
    "Petite",
    "Red",
    "Yellow",
    "Green",
    "Golden",
    "Sweet",
    "Mini",
    "Jumbo",
    "Ripe",
    "Loose",
    "Hothouse",
    "Wild",
]
SIZES = [
    "8 oz",
    "12 oz",
    "16 oz",
    "32 oz",
    "1 lb",
    "2 lb",
    "6 ct",
    "12 ct",
    "24 ct",
    "Family Pack",
    "Value Pack",
    "Single Serve",
]
