#!/usr/bin/env python3
"""Generate tunebench's bundled sample corpora (written for this project; no
text comes from public datasets). Deterministic: re-running gives the same
files.

  reviews/   product and service reviews, labels negative/neutral/positive (CSV)
  tickets/   customer-support messages, eight intents (JSONL)
  chinese/   Chinese product reviews, 正面/中性/负面, CLUE-style TSV
             (label<TAB>text_a), some with English words and emoji

Each has a training file and a held-out file that shares no sentence with it.
"""
import csv
import json
import random
from pathlib import Path

HERE = Path(__file__).parent
rng = random.Random(20261128)

# --- reviews -----------------------------------------------------------------
THINGS = [
    ("headphones", ["sound", "battery", "fit", "noise cancelling", "microphone"]),
    ("blender", ["motor", "jug", "noise level", "blades", "lid"]),
    ("hotel room", ["bed", "view", "shower", "breakfast", "front desk"]),
    ("running shoes", ["cushioning", "grip", "laces", "sizing", "sole"]),
    ("pizza place", ["crust", "delivery", "toppings", "staff", "prices"]),
    ("phone case", ["buttons", "grip", "colour", "edges", "finish"]),
    ("novel", ["plot", "ending", "characters", "pacing", "dialogue"]),
    ("coffee maker", ["carafe", "timer", "taste", "cleaning", "warming plate"]),
    ("desk chair", ["armrests", "back support", "wheels", "assembly", "padding"]),
    ("video game", ["controls", "story", "graphics", "load times", "soundtrack"]),
    ("vacuum cleaner", ["suction", "filter", "cord", "attachments", "bin"]),
    ("tent", ["zips", "poles", "rain fly", "pegs", "setup"]),
    ("streaming service", ["app", "catalogue", "subtitles", "price", "picture quality"]),
    ("bike lock", ["key", "weight", "mount", "cable", "mechanism"]),
    ("gardening gloves", ["stitching", "fingertips", "cuffs", "size", "material"]),
]
POS_ADJ = ["excellent", "superb", "fantastic", "really good", "lovely", "outstanding",
           "brilliant", "great", "impressive", "wonderful", "solid", "first-rate"]
NEG_ADJ = ["awful", "terrible", "disappointing", "poor", "useless", "flimsy",
           "dreadful", "broken", "cheap-feeling", "frustrating", "bad", "unreliable"]
NEU_ADJ = ["average", "fine", "okay", "acceptable", "standard", "ordinary",
           "as described", "unremarkable", "adequate", "typical", "so-so", "middle of the road"]

POS_T = [
    "The {a} on this {t} is {adj}.",
    "I love this {t}; the {a} is {adj}.",
    "Really happy with the {t}, especially the {a}.",
    "Best {t} I have owned, the {a} is {adj}.",
    "Would buy this {t} again without thinking twice.",
    "{Adj} {t}. The {a} exceeded what I expected.",
    "Five stars: the {a} alone makes this {t} worth it.",
    "My whole family enjoys the {t} and the {a} is {adj}.",
    "Honestly delighted, the {t} works perfectly and the {a} is {adj}.",
    "I was sceptical at first, but the {a} of this {t} won me over.",
    "Great value, the {t} feels well made and the {a} is {adj}.",
    "Highly recommend this {t} to anyone who cares about {a}.",
]
NEG_T = [
    "The {a} on this {t} is {adj}.",
    "I regret buying this {t}; the {a} is {adj}.",
    "Very unhappy with the {t}, especially the {a}.",
    "Worst {t} I have owned, the {a} is {adj}.",
    "I returned the {t} after a week because the {a} failed.",
    "{Adj} {t}. The {a} stopped working almost at once.",
    "One star: the {a} ruins this {t} completely.",
    "Do not waste your money on this {t}, the {a} is {adj}.",
    "Sadly the {t} fell apart and the {a} was {adj} from day one.",
    "I wanted to like this {t}, but the {a} is simply {adj}.",
    "Overpriced {t}, the {a} feels {adj} and support never replied.",
    "Avoid this {t} if you care at all about {a}.",
]
NEU_T = [
    "The {a} on this {t} is {adj}.",
    "The {t} arrived on Tuesday and the {a} is {adj}.",
    "It is a {t}; the {a} is {adj}, nothing more to say.",
    "The {t} does what the box says and the {a} is {adj}.",
    "{Adj} {t}. The {a} is neither good nor bad.",
    "I have used the {t} for a month; the {a} is about what I expected.",
    "Some people may like the {a}, others may not; the {t} is {adj}.",
    "The {t} comes in a plain box with a manual about the {a}.",
    "No strong feelings about this {t}, the {a} is {adj}.",
    "The {a} of the {t} is similar to other ones at this price.",
    "Bought the {t} as a replacement; the {a} is {adj}.",
    "The {t} is {adj} overall, the {a} could go either way.",
]


def reviews():
    rows = set()
    specs = [("positive", POS_T, POS_ADJ), ("negative", NEG_T, NEG_ADJ), ("neutral", NEU_T, NEU_ADJ)]
    out = []
    while len(out) < 900:
        label, templates, adjs = specs[len(out) % 3]
        thing, aspects = rng.choice(THINGS)
        adj = rng.choice(adjs)
        text = rng.choice(templates).format(t=thing, a=rng.choice(aspects), adj=adj, Adj=adj[0].upper() + adj[1:])
        if text not in rows:
            rows.add(text)
            out.append((text, label))
    rng.shuffle(out)
    return out[:720], out[720:]


# --- support tickets ---------------------------------------------------------
INTENTS = {
    "refund": [
        "I would like my money back for order {o}.",
        "Please refund the {p} I returned last week.",
        "How long does a refund take to reach my card?",
        "The refund for order {o} still has not arrived.",
        "Can I get a refund instead of store credit for the {p}?",
        "I was promised a refund on {d} and nothing came through.",
    ],
    "shipping": [
        "Where is my order {o}? The tracking has not moved since {d}.",
        "When will the {p} be delivered?",
        "My parcel shows delivered but I never received the {p}.",
        "Can you ship the {p} to a different address?",
        "Do you deliver to the islands, and how long does it take?",
        "The courier left order {o} at the wrong house.",
    ],
    "account": [
        "I cannot log in to my account since {d}.",
        "How do I change the email address on my account?",
        "Please delete my account and all my data.",
        "I forgot my password and the reset link never arrives.",
        "Someone else may have accessed my account, what should I do?",
        "How can I turn on two-factor sign in?",
    ],
    "billing": [
        "I was charged twice for order {o}.",
        "Why is there an extra fee on my invoice from {d}?",
        "Can I change the card you bill each month?",
        "My subscription renewed even though I cancelled it on {d}.",
        "Please send me a VAT invoice for the {p}.",
        "The price I paid for the {p} is higher than the one on the site.",
    ],
    "product_defect": [
        "The {p} stopped working after two days.",
        "The {p} arrived with a cracked screen.",
        "One part of the {p} is missing from the box.",
        "The {p} makes a loud grinding noise when I switch it on.",
        "The {p} overheats and then shuts itself off.",
        "The battery of the {p} drains within an hour.",
    ],
    "cancel_order": [
        "Please cancel order {o} before it ships.",
        "I ordered the {p} by mistake, can you cancel it?",
        "How do I cancel an order I placed on {d}?",
        "Cancel my order {o}, I found it cheaper elsewhere.",
        "Is it too late to cancel the {p} I bought this morning?",
        "I need to cancel order {o} and order a different size.",
    ],
    "product_question": [
        "Is the {p} compatible with older models?",
        "Does the {p} come with a warranty?",
        "What are the dimensions of the {p}?",
        "Can the {p} be used outdoors in the rain?",
        "Is the {p} available in another colour?",
        "Does the {p} need any extra accessories to work?",
    ],
    "feedback": [
        "Just wanted to say the {p} is great, thanks!",
        "Your support team solved my issue on {d} really quickly, thank you.",
        "The new website layout is confusing, please bring the old one back.",
        "Love the {p}, would be nice if it came in more sizes.",
        "Suggestion: let us save items to a wish list.",
        "Thanks for the fast delivery of order {o}.",
    ],
}
PRODUCTS = ["kettle", "wireless speaker", "smart watch", "air fryer", "desk lamp", "backpack",
            "keyboard", "baby monitor", "electric toothbrush", "router", "hair dryer", "tablet"]
DATES = ["Monday", "Friday", "the 3rd", "the 12th", "last weekend", "March 2", "yesterday", "the 28th"]
OPENERS = ["", "", "", "Hi, ", "Hello, ", "Hey there. ", "Good morning. ", "Urgent: "]
CLOSERS = ["", "", "", " Thanks.", " Thank you!", " Regards, Sam.", " Please help.", " Cheers."]


def tickets():
    seen = set()
    out = []
    names = sorted(INTENTS)
    while len(out) < 640:
        intent = names[len(out) % len(names)]
        body = rng.choice(INTENTS[intent]).format(
            o="#" + str(rng.randint(10000, 99999)), p=rng.choice(PRODUCTS), d=rng.choice(DATES))
        text = rng.choice(OPENERS) + body + rng.choice(CLOSERS)
        if text not in seen:
            seen.add(text)
            out.append({"text": text, "intent": intent})
    rng.shuffle(out)
    return out[:512], out[512:]


# --- chinese ---------------------------------------------------------------
ZH_THINGS = [
    ("手机", ["电池", "屏幕", "信号", "拍照", "系统"]),
    ("耳机", ["音质", "降噪", "续航", "佩戴", "麦克风"]),
    ("酒店", ["床", "早餐", "服务", "隔音", "位置"]),
    ("餐厅", ["味道", "环境", "上菜速度", "服务员", "价格"]),
    ("外卖", ["包装", "送餐", "分量", "口味", "温度"]),
    ("笔记本电脑", ["键盘", "散热", "重量", "屏幕", "续航"]),
    ("运动鞋", ["鞋底", "尺码", "透气性", "做工", "颜色"]),
    ("小说", ["情节", "结局", "人物", "文笔", "节奏"]),
    ("咖啡机", ["咖啡", "噪音", "清洗", "水箱", "操作"]),
    ("扫地机器人", ["吸力", "噪音", "避障", "App", "电池"]),
]
ZH_POS = ["很好", "非常棒", "超出预期", "让人满意", "特别好用", "无可挑剔", "相当出色", "很赞"]
ZH_NEG = ["太差了", "让人失望", "很糟糕", "问题很多", "完全不行", "非常难用", "质量很差", "令人生气"]
ZH_MID = ["还行", "一般", "中规中矩", "没什么特别", "马马虎虎", "说得过去"]
ZH_TEMPLATES = [
    "这个{t}的{a}{j}。", "买了这款{t}，{a}{j}。", "{t}收到了，{a}{j}！", "用了一个月，{t}的{a}{j}。",
    "朋友推荐的{t}，{a}{j}。", "总的来说，{a}{j}，{t}{o}。", "{a}{j}，这家的{t}{o}。",
]
ZH_OVERALL = {"正面": ["值得买", "会回购", "推荐 👍", "五星好评"],
              "负面": ["不推荐", "不会再买", "差评 👎", "退货了"],
              "中性": ["看个人需要", "可以考虑", "不好不坏", "价格合适就行"]}
ZH_EXTRAS = ["", "", "", " OK", " 😀", " iPhone 用户", " 618 买的", " Wi-Fi 正常"]


def chinese():
    zh = random.Random(20261202)
    seen, out = set(), []
    labels = ["正面", "负面", "中性"]
    while len(out) < 450:
        label = labels[len(out) % 3]
        thing, aspects = zh.choice(ZH_THINGS)
        adj = zh.choice({"正面": ZH_POS, "负面": ZH_NEG, "中性": ZH_MID}[label])
        text = zh.choice(ZH_TEMPLATES).format(
            t=thing, a=zh.choice(aspects), j=adj, o=zh.choice(ZH_OVERALL[label]))
        text += zh.choice(ZH_EXTRAS)
        if text not in seen:
            seen.add(text)
            out.append((label, text))
    zh.shuffle(out)
    return out[:360], out[360:]


def write_tsv(path, rows):
    with open(path, "w", newline="") as f:
        f.write("label\ttext_a\n")
        for label, text in rows:
            f.write(f"{label}\t{text}\n")


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["text", "label"])
        w.writerows(rows)


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    (HERE / "reviews").mkdir(exist_ok=True)
    (HERE / "tickets").mkdir(exist_ok=True)
    train, held = reviews()
    write_csv(HERE / "reviews" / "train.csv", train)
    write_csv(HERE / "reviews" / "heldout.csv", held)
    train, held = tickets()
    write_jsonl(HERE / "tickets" / "train.jsonl", train)
    write_jsonl(HERE / "tickets" / "heldout.jsonl", held)
    (HERE / "chinese").mkdir(exist_ok=True)
    train, held = chinese()
    write_tsv(HERE / "chinese" / "train.tsv", train)
    write_tsv(HERE / "chinese" / "heldout.tsv", held)
