"""Every text a person reads, by message key. The English source is the gettext msgid;
translations live in locales/<lang>/LC_MESSAGES/sahay.po. Rasa answers with keys only.

Answers are written for a phone screen: a few short lines, plain words. Organisation facts
(numbers, places, hours) are never written here: they come from the service directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final


def N_(message: str) -> str:
    """Mark a string for extraction (pybabel extract -k N_) without translating it here."""
    return message


MESSAGES: Final[Mapping[str, str]] = {
    # Conversation
    "greet": N_(
        "Hello, I am Sahay. I answer questions about services for migrants: health care, "
        "food and hygiene relief, legal aid, documents, shelter and more. "
        "Write your question in a few words."
    ),
    "greet_returning": N_("Welcome back. How can I help you today?"),
    "goodbye": N_("Take care. Write to me any time you need help."),
    "thank_you": N_("You are welcome. Write to me any time you need help."),
    "affirm": N_("OK. What would you like to know? Tap Menu to see what I can do."),
    "deny": N_("OK. What would you like to know instead? Tap Menu to see what I can do."),
    "bot_challenge": N_(
        "I am Sahay, a computer program (a bot), not a person. "
        "To talk to a person, call the helpline."
    ),
    "menu": N_(
        "I can help you with:\n"
        "- health care and vaccination\n"
        "- food and hygiene relief\n"
        "- legal aid: unpaid salary, passport kept by employer\n"
        "- documents and registration\n"
        "- going home (repatriation) and finding family\n"
        "- shelter, jobs, school, cash help, stress and worries\n"
        "Write what you need in a few words."
    ),
    "human_handoff": N_(
        "To talk to a person, call the helpline. "
        "You can also keep writing here and I will answer what I can."
    ),
    "out_of_scope": N_(
        "Sorry, I cannot help with that. I answer questions about services for migrants. "
        "Tap Menu to see what I can do."
    ),
    "fallback": N_(
        "Sorry, I did not understand. Please write your question in a few words, "
        "or tap Menu to see what I can do."
    ),
    "try_again": N_(
        "Sorry, I cannot answer right now. Your message is saved and I will reply "
        "shortly. Please try again in a few minutes."
    ),
    "not_text": N_(
        "Sorry, I can only read text messages. Please write your question in a few words, "
        "or call the helpline."
    ),
    "numbered_hint": N_("Reply with a number to choose."),
    "location_set": N_("Thank you. I will show you services near %(location)s first."),
    "location_unknown": N_(
        "Thank you. I do not know services near that place. "
        "Please write the name of your island or city."
    ),
    # Language
    "language_picker": N_("Choose your language:"),
    "language_picker_first": N_(
        "I will answer in English. To choose another language, tap it below."
    ),
    "language_set": N_("OK, I will write to you in English."),
    # Service answers: what it is, who can get it, how; the places come from the directory.
    "answer.ask_health_services": N_(
        "Health care: clinics and hospitals treat people who are sick or hurt, with or "
        "without documents. In an emergency, go to the nearest hospital at once. "
        "Bring any ID you have; if you have none, go anyway."
    ),
    "answer.ask_vaccination": N_(
        "Vaccination: vaccines for children and adults are free at public health centres, "
        "also for people without a passport or visa. Bring any ID and the child's vaccine "
        "card if you have them."
    ),
    "answer.ask_covid_info": N_(
        "COVID-19: fever, cough, tiredness or loss of taste or smell can be COVID. "
        "Stay away from others, wear a mask and get tested. Testing is free for everyone. "
        "If you find it hard to breathe, go to a hospital at once."
    ),
    "answer.ask_food_relief": N_(
        "Food and hygiene relief: food packs and hygiene kits (soap, sanitary pads) are given "
        "to families and workers in need, with or without documents. "
        "Bring any ID you have and say how many people you live with."
    ),
    "answer.ask_legal_aid": N_(
        "Legal aid: free advice if your salary is not paid, your employer keeps your passport, "
        "or your contract is not respected. Keeping your passport is against the law. "
        "Keep photos of your contract, payslips and messages."
    ),
    "answer.ask_documents": N_(
        "Documents: help with a lost passport, ID, registration and work permit papers. "
        "For a lost passport, report it to the police and contact your embassy. "
        "Bring copies or photos of any documents you have."
    ),
    "answer.ask_repatriation": N_(
        "Going home: help to contact your embassy, get travel documents and, in some cases, "
        "a ticket home. Tell us your nationality and where you are now."
    ),
    "answer.ask_family_links": N_(
        "Family links: the Red Cross and Red Crescent help find family members and restore "
        "contact, free and confidential. Give the person's full name, age and last known place."
    ),
    "answer.ask_shelter": N_(
        "Shelter: emergency places to stay for people without a safe place to sleep, "
        "families with children first. Tell us where you are and how many people are with you."
    ),
    "answer.ask_employment": N_(
        "Jobs and skills: job referrals, vocational training and help to start a small "
        "business. Bring your work permit if you have one."
    ),
    "answer.ask_education": N_(
        "School: every child can go to a public school, with or without documents. "
        "Enrolment is free. Go to the nearest school or the education office with the child."
    ),
    "answer.ask_cash_assistance": N_(
        "Cash help: families in need can get cash transfers or vouchers. "
        "It depends on your situation; you can ask for it through a request."
    ),
    "answer.ask_mental_health": N_(
        "Feeling stressed, sad or worried is common, and you are not alone. "
        "You can talk to a counsellor for free and in confidence. "
        "If you think of hurting yourself, call the emergency number now."
    ),
    "answer.ask_helpline": N_(
        "You can call or message the helpline. It is free and confidential."
    ),
    # Actions (the full flows come with requests, subscriptions and data protection)
    "answer.report_emergency": N_(
        "If you or someone is in danger now, call the emergency number at once:"
    ),
    "emergency.offer_request": N_(
        "Do you want me to open an urgent request now? A caseworker will contact you as "
        "fast as possible."
    ),
    "alerts.subscribed": N_(
        "Done: I will send you alerts about cyclones, floods, outbreaks and vaccination days. "
        "To stop them, write STOP."
    ),
    "alerts.unsubscribed": N_(
        "OK, no more alerts. You can still ask me anything. To get alerts again, write START."
    ),
    # "Delete my data": asked to confirm, then erased once the confirmation has left.
    "erase.confirm": N_(
        "Delete everything Sahay keeps about you? Your messages, your language, your alerts "
        "and any request still open will be deleted. Closed requests are kept only as "
        "numbers, without your name or words. You can still use Sahay any time."
    ),
    "erase.done": N_(
        "Done. Your data is being deleted now, within a minute. If you write again, Sahay "
        "starts fresh and knows nothing of this conversation."
    ),
    # Service directory lines
    "directory.where": N_("Where to go:"),
    "directory.where_near": N_("Near %(location)s:"),
    "directory.place": N_("%(name)s, %(address)s. Open %(hours)s. Tel. %(phone)s"),
    "directory.line": N_("%(name)s: %(phone)s (%(hours)s)"),
    "directory.helpline": N_("Helpline: %(phone)s (%(hours)s)"),
    "directory.emergency": N_("Emergency: %(phone)s"),
    "directory.more_places": N_("More places"),
    "directory.more_title": N_("More places:"),
    "directory.sample_note": N_("(Sample data: not a real service.)"),
    # The web chat page
    "web.tagline": N_("Help and information for migrants"),
    "web.your_message": N_("Your message"),
    "web.placeholder": N_("Write your message"),
    "web.send": N_("Send"),
    "web.retrying": N_("Connection problem, trying again…"),
    "web.not_sent": N_("Not sent. Check your connection and try again."),
    # Asking for help: the request form (dialogues/actions/requests.py)
    "request.ask_category": N_("What do you need help with? Tap one, or write it in a few words."),
    "request.ask_description": N_("In a few words: what happened, and what do you need?"),
    "request.ask_location": N_("Where are you now? Write your island or city."),
    "request.ask_household_size": N_(
        "How many people live with you, you included? Write a number, or tap Skip."
    ),
    "request.ask_gender": N_(
        "Are you a woman or a man? This is only for our reports. You can skip it."
    ),
    "request.ask_age_group": N_("How old are you? Only for our reports. You can skip it."),
    "request.ask_nationality": N_(
        "Which country are you from? Only for our reports. You can skip it."
    ),
    "request.ask_contact_method": N_("How should the service contact you?"),
    "request.ask_phone": N_("Which phone number should they call?"),
    "request.ask_consent": N_(
        "Please check your request:\n"
        "Need: %(category)s\n"
        "What: %(description)s\n"
        "Where: %(location)s\n"
        "People: %(household)s\n"
        "Contact: %(contact)s\n\n"
        "Sahay will keep this request and share it only with the service that can help "
        "you. You can ask us to delete it at any time. Do you agree?"
    ),
    "request.submitted": N_(
        "Your request is saved. Your reference code is %(reference)s. Keep it: you can read "
        "it out on the phone. A caseworker will contact you within 3 working days (urgent "
        "requests within one hour). To check on it, write: status"
    ),
    "request.declined": N_(
        "OK, I did not save anything. You can still get help: here is where to go, and the "
        "helpline."
    ),
    "request.cancelled": N_("OK, I stopped. Nothing was saved. Tap Menu to see what I can do."),
    "request.invalid_category": N_(
        "Please tap one of the options, or write what you need in a few words."
    ),
    "request.invalid_description": N_("Please write a few words about what you need."),
    "request.invalid_household_size": N_(
        "Please write the number of people, for example 4, or tap Skip."
    ),
    "request.invalid_choice": N_("Please tap one of the options."),
    "request.invalid_phone": N_(
        "Please write the phone number with digits only, for example 7771234."
    ),
    "request.not_given": N_("not given"),
    "category.food_relief": N_("Food and hygiene"),
    "category.health_services": N_("Health care"),
    "category.vaccination": N_("Vaccination"),
    "category.legal_aid": N_("Legal aid"),
    "category.documents": N_("Documents"),
    "category.repatriation": N_("Going home"),
    "category.family_links": N_("Finding family"),
    "category.shelter": N_("Shelter"),
    "category.education": N_("School"),
    "category.employment": N_("Jobs and skills"),
    "category.cash_assistance": N_("Cash help"),
    "category.mental_health": N_("Stress and worries"),
    "category.other": N_("Something else"),
    "gender.woman": N_("Woman"),
    "gender.man": N_("Man"),
    "gender.other": N_("Other"),
    "age.under_18": N_("Under 18"),
    "age.18_59": N_("18 to 59"),
    "age.60_plus": N_("60 or older"),
    # Nationalities the request form offers (storage/requests.py NATIONALITIES).
    "country.BD": N_("Bangladesh"),
    "country.IN": N_("India"),
    "country.LK": N_("Sri Lanka"),
    "country.NP": N_("Nepal"),
    "country.MV": N_("Maldives"),
    "country.VE": N_("Venezuela"),
    "country.CO": N_("Colombia"),
    "country.PE": N_("Peru"),
    "country.HT": N_("Haiti"),
    "country.CU": N_("Cuba"),
    "country.EC": N_("Ecuador"),
    "country.other": N_("Another country"),
    "contact.chat": N_("Here in this chat"),
    "contact.phone": N_("A phone call"),
    # Where a request stands (check_request_status)
    "status.found": N_("Your request %(reference)s (%(category)s): %(status)s."),
    "status.none": N_(
        "I have no request from you in this chat. To ask for help, write: I need help"
    ),
    "status.not_found": N_(
        "I found no request with the code %(reference)s in this chat. Check the code, or "
        "call the helpline."
    ),
    "status.new": N_("received, waiting for a caseworker"),
    "status.assigned": N_("a caseworker has it"),
    "status.in_progress": N_("a caseworker is working on it"),
    "status.referred": N_("passed on to the service that can help"),
    "status.resolved": N_("done"),
    "status.closed": N_("closed"),
    "status.rejected": N_("not accepted; call the helpline to know why"),
    # A caseworker writing to the person (the caseworker's words follow this line)
    "casework.reply": N_("Message from your caseworker about request %(reference)s:"),
    "casework.forwarded": N_(
        "Thank you. I passed your message to your caseworker (request %(reference)s). "
        "They will answer here."
    ),
    # Above a broadcast sent to a staff member's own phone to check it ("send to me first")
    "broadcast.test": N_("TEST from our staff, not a real alert:"),
    # Button titles
    "button.skip": N_("Skip"),
    "button.urgent_request": N_("Yes, urgent request"),
    "button.cancel": N_("Cancel"),
    "button.agree": N_("Yes, I agree"),
    "button.disagree": N_("No"),
    "button.change_category": N_("Change: need"),
    "button.change_description": N_("Change: what"),
    "button.change_location": N_("Change: where"),
    "button.change_household": N_("Change: people"),
    "button.change_contact": N_("Change: contact"),
    "button.menu": N_("Menu"),
    "button.erase_yes": N_("Yes, delete"),
    "button.erase_no": N_("No, keep it"),
    "button.goodbye": N_("Bye"),
    "button.language": N_("Language"),
    # The button that opens a WhatsApp list of options (at most 20 characters).
    "button.choose": N_("Choose"),
}

# Language names are shown in their own language and script, never translated: a person must
# recognise their own language whatever language the screen is in.
LANGUAGE_NAMES: Final[Mapping[str, str]] = {
    "en": "English",
    "es": "Español",
    "bn": "বাংলা",
    "hi": "हिन्दी",
    "ta": "தமிழ்",
    "si": "සිංහල",
    "ne": "नेपाली",
    "dv": "ދިވެހި",
}
