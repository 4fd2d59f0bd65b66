"""The demo tenant's knowledge base: a small FAQ of a made-up online shop, seeded on the
first `make run` so the demo answers from knowledge and hands off the rest. Written as a
real shop writes its FAQ page: one question and one answer per entry, no example
phrasings (the answer policy understands paraphrases and other languages without them). An entry's
optional ``url`` (the shop's help page on it) comes with the answer's citation, which the
widget shows as a link."""

DEMO_FAQ = [
    {
        "id": "reset-password",
        "question": "How do I reset my password?",
        "answer": 'Open the sign-in page, choose "Forgot password" and enter your email address. We send you a link '
        "that is valid for 30 minutes; follow it to choose a new password.",
        "url": "https://shop.example.com/help/account#reset-password",
    },
    {
        "id": "opening-hours",
        "question": "When is customer support available?",
        "answer": "Our team answers chats and emails Monday to Friday, 8:00 to 18:00 (CET). Outside these hours this "
        "assistant answers and a person follows up on the next working day.",
    },
    {
        "id": "shipping-time",
        "question": "Where do you deliver, and how long does delivery take?",
        "answer": "We deliver to Germany, Austria, Switzerland and every other EU country. Orders placed before 14:00 "
        "on a working day leave our warehouse the same day. Delivery takes 1-2 working days in Germany, 2-3 working "
        "days to Austria and Switzerland, and 3-5 working days elsewhere in the EU.",
        "url": "https://shop.example.com/help/shipping#delivery-times",
    },
    {
        "id": "track-order",
        "question": "How can I track my order?",
        "answer": "As soon as your parcel leaves the warehouse we email you a tracking link. You also find it under "
        "Account > Orders.",
    },
    {
        "id": "return-policy",
        "question": "How do I return an item?",
        "answer": "You can return unused items within 30 days. Start the return under Account > Orders > Return; you "
        "get a prepaid label by email.",
    },
    {
        "id": "refund-time",
        "question": "When do I get my refund?",
        "answer": "We refund to the original payment method within 5 working days after your return reaches us.",
    },
    {
        "id": "payment-methods",
        "question": "Which payment methods do you accept?",
        "answer": "We accept credit and debit cards (Visa, Mastercard, American Express), PayPal, and bank transfer "
        "for orders over 100 EUR.",
    },
    {
        "id": "cancel-order",
        "question": "Can I cancel my order?",
        "answer": "You can cancel an order under Account > Orders until it leaves the warehouse. After that, return "
        "it within 30 days instead.",
    },
    {
        "id": "change-address",
        "question": "How do I change my delivery address?",
        "answer": "Edit the address under Account > Addresses. For an order that has not shipped yet, change it under "
        "Account > Orders > Edit delivery.",
    },
    {
        "id": "invoice",
        "question": "Where do I find my invoice?",
        "answer": 'Every invoice is a PDF under Account > Orders; choose the order and "Download invoice".',
    },
    {
        "id": "delete-account",
        "question": "How do I delete my account?",
        "answer": 'Go to Account > Privacy and choose "Delete account". We remove your personal data within 30 days, '
        "except invoices we must keep by law.",
    },
    {
        "id": "damaged-item",
        "question": "My item arrived damaged. What now?",
        "answer": "Sorry about that! Send us a photo of the damage under Account > Orders > Report a problem within "
        "14 days and we replace the item or refund it.",
    },
]
