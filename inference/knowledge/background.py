"""Generic "background" questions: what customers of *some other* business, or nobody's
business at all, might type into a chat widget.

The router learns a tenant's knowledge base against this text (an extra "background"
class), which is what lets it say "this is not about us" instead of forcing every question
onto the nearest FAQ entry.  Lines are written by hand for this purpose, in the register
of chat messages, spread over many domains (retail orders and delivery, travel, food,
health, education, software, home, entertainment, general knowledge, small talk).  They
avoid money movement, cards and account security on purpose, and the operations of any
shop (orders, delivery, tracking, returns, discount codes, opening hours): those are the
core of too many tenants' knowledge bases, where they would stand for "not about us".
Not derived from any evaluation set (see docs/quality.md).

Lines that are too close to a tenant's own knowledge base are dropped per tenant before
training (``router.BACKGROUND_MAX_SIMILARITY``), so a shop or an airline that covers one of
these topics keeps its own questions.
"""

from __future__ import annotations

_TEXT = """
hi
hello there
hey, anyone here?
good morning
good evening, how are you doing today?
how's it going
what's up
thanks, bye
ok thank you so much
you are awesome
that's all for now
lol
haha that's funny
are you a robot?
are you a real person or a bot?
what is your name?
how old are you?
who made you?
do you have feelings?
what's your favourite colour?
do you like music?
can you tell me a joke?
tell me something interesting
i'm bored, entertain me
sing me a song
what's the meaning of life?
do you dream?
can we be friends?
what do you think about artificial intelligence?
what day is it today?
what time is it in Tokyo right now?
what's the weather like tomorrow?
will it rain this weekend?
how hot will it be in Madrid on Saturday?
is it going to snow tonight?
what's the temperature outside?
who won the football match last night?
when does the next world cup start?
how many players are on a basketball team?
who holds the record for the fastest marathon?
what are the rules of cricket?
when is the next formula one race?
how do I get better at tennis?
what is the capital of Australia?
how tall is Mount Everest?
who wrote Pride and Prejudice?
when did the Second World War end?
how many planets are in the solar system?
why is the sky blue?
how far away is the moon?
what is photosynthesis?
who painted the Mona Lisa?
what's the population of Canada?
what language do they speak in Brazil?
how many bones are in the human body?
what is the speed of light?
who invented the telephone?
what is the longest river in the world?
how do volcanoes form?
what is the boiling point of water at altitude?
translate good night into Italian
how do you say thank you in Japanese?
what does the word serendipity mean?
is it affect or effect?
can you check my grammar in this sentence?
write me a poem about autumn
summarize the plot of Hamlet
recommend a good science fiction book
what movies are playing this weekend?
is the new season of that show out yet?
who is the lead singer of that band?
recommend a podcast about history
what's a good board game for four people?
how do I make pancakes?
what can I cook with chicken and rice?
how long should I boil an egg?
is it safe to eat raw cookie dough?
give me a vegetarian lasagna recipe
how many calories are in a banana?
what wine goes with salmon?
how do I keep basil fresh?
can I freeze cooked pasta?
what's a good substitute for buttermilk?
I want to book a table for two tonight
do you have vegan options on the menu?
can I order pizza for delivery?
is the restaurant open on Sundays?
my food order arrived cold
the delivery driver forgot my drink
where is my takeaway order?
how do I lose weight safely?
what are the symptoms of the flu?
how much water should I drink per day?
is it bad to sleep less than six hours?
how can I stop snoring?
what exercises help with back pain?
I need to book a doctor's appointment
can I reschedule my dentist appointment?
is the pharmacy open late today?
how do I renew my prescription?
does my health insurance cover physiotherapy?
what are the visiting hours at the hospital?
how do I get rid of a headache?
how do I learn Python quickly?
what's the difference between a list and a tuple?
my laptop is running really slow
how do I take a screenshot on a mac?
my phone won't turn on
how do I connect my printer to wifi?
the wifi keeps dropping every few minutes
how do I update the software on my tv?
my bluetooth headphones won't pair
how do I clear the cache in my browser?
the app crashes every time I open it
how do I export my contacts to a new phone?
what's the best free antivirus?
how do I install the printer driver?
the website won't load on my tablet
my game keeps freezing on the loading screen
how do I unlock the next level?
how do I redeem a game gift code?
can I play this game offline?
the server is down again, when will it be back?
how do I cancel my streaming subscription?
why is the video buffering so much?
can I download episodes to watch offline?
how many screens can I watch on at the same time?
the subtitles are out of sync
my internet is down
when will the broadband outage be fixed?
can I upgrade my mobile data plan?
how do I activate roaming before my trip?
my phone has no signal at home
how do I port my number to a new provider?
when does my phone contract end?
how do I report a power cut?
the electricity meter reading looks wrong
when is the gas engineer coming?
how do I submit a water meter reading?
my heating isn't working
there's a leak under my kitchen sink
how do I unblock a drain?
what colour should I paint my living room?
how often should I water a cactus?
my tomato plants have yellow leaves
how do I get rid of ants in the kitchen?
when is the bin collection in my street?
how do I book a moving van?
is this sofa available in blue?
do you have this dress in size 12?
what are the dimensions of the desk?
is the blender dishwasher safe?
how do I assemble the bookshelf?
the instructions for the bed frame are missing
does the coffee machine come with a warranty?
my vacuum cleaner stopped working after a week
is there parking at the shopping centre?
I'd like to leave a review for the product
I want to unsubscribe from your marketing emails
stop sending me newsletters
how do I join the loyalty programme?
how many points do I need for a free coffee?
my flight was cancelled, what now?
can I change the date of my flight?
how much baggage can I take on the plane?
my suitcase didn't arrive at the airport
can I choose my seat in advance?
what time does check-in open?
do I need a visa to visit Japan?
is my passport still valid for travel?
how early should I get to the airport?
can I bring my dog on the train?
what time is the last bus to the city centre?
the train was delayed by two hours
I left my umbrella on the bus
I need a taxi to the station
how do I book a hotel room with a sea view?
can I get a late checkout?
does the hotel have a swimming pool?
is breakfast included in the room price?
the room is too noisy, can I move?
I want to rent a car for the weekend
does the rental car have unlimited mileage?
what's the best time of year to visit Iceland?
recommend things to do in Barcelona
how do I get from the airport to downtown?
is tap water safe to drink in Mexico?
when does the museum open?
how much are tickets for the zoo?
can I bring food into the stadium?
I want to book tickets for the concert
the concert was postponed, are tickets still valid?
how do I enrol in the evening course?
when does the semester start?
where can I find my exam results?
can I get an extension on my essay?
how do I apply for a student visa?
what are the entry requirements for the nursing degree?
help me with my maths homework
what is 17 times 23?
solve x squared minus four equals zero
how many centimetres are in a foot?
convert 30 celsius to fahrenheit
what's the square root of 144?
how do I calculate the area of a circle?
how do I write a cover letter?
what should I wear to a job interview?
how do I ask my boss for a raise?
tips for working from home
how do I become a pilot?
how do I get my driving licence?
my car makes a strange noise when braking
when is my car due for a service?
how often should I change the oil?
the check engine light is on
how do I change a flat tyre?
the gym is too crowded in the evenings
can I freeze my gym membership?
what time does the yoga class start?
how do I book a personal trainer?
my cat keeps scratching the furniture
how often should I walk my dog?
what should I feed a rabbit?
my puppy won't stop barking at night
book a grooming appointment for my dog
the lift in my building is broken
my landlord won't fix the boiler
how do I apply for a parking permit?
when is the library open?
how do I renew a library book?
can I vote by post?
how do I register to vote?
where is the nearest post office?
how much is a stamp for a letter to France?
what's a good birthday present for my dad?
how do I plan a surprise party?
ideas for a rainy day with kids
how do I meditate?
I can't sleep, any tips?
how do I stop procrastinating?
what's the best way to learn a new language?
how do I knit a scarf?
how do I tune a guitar?
recommend some relaxing music
who is the president of France?
what's happening in the news today?
explain quantum computing simply
what is the theory of relativity?
how do airplanes stay in the air?
how does a microwave work?
why do cats purr?
do fish sleep?
how long do elephants live?
what is the biggest animal on earth?
is a tomato a fruit or a vegetable?
how do I remove a red wine stain?
how do I iron a shirt properly?
can I wash wool in the washing machine?
my washing machine won't drain
the dishwasher leaves white marks on glasses
the fridge is making a buzzing sound
my oven isn't heating up
the tv remote doesn't work
how do I set up parental controls?
I forgot the wifi password for my router
how do I reset the router?
can I speak in Spanish here?
do you sell gift cards for the spa?
I want to book a massage for Saturday
do you do wedding catering?
can I bring my own cake to the restaurant?
the cinema seats were sticky
how long is the film?
is this film suitable for children?
what's the age rating of this game?
where can I recycle old batteries?
how do I compost food waste?
what is climate change?
how do solar panels work?
should I buy an electric car?
how far can an electric scooter go on one charge?
my bike has a puncture
where can I hire a bike in the park?
is the swimming pool heated?
do I need to book the tennis court?
the hairdresser cut my hair too short
can I book a haircut online?
what's the dress code for the wedding?
how do I write a wedding speech?
what's a good name for a goldfish?
tell me a fun fact about octopuses
what's the best pizza topping?
do you prefer cats or dogs?
I just wanted to say hi
nothing, never mind
test
asdfgh
123
?
""".strip()

BACKGROUND: tuple[str, ...] = tuple(line.strip() for line in _TEXT.splitlines() if line.strip())
