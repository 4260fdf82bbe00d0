"""Near copies: campaign copies are found and confirmed; other residents' views on the same topic
are not, even in the same words; band keys are the same everywhere they are computed.

Pure unit tests: no app, no database.
"""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from feedback_app.text.near_duplicates import (
    BANDS,
    CAMPAIGN_SIMILARITY,
    NUM_PERM,
    Signature,
    band_keys,
    is_near_copy,
    signature,
    similarity,
)

ROOT = Path(__file__).resolve().parent.parent

LAMPPOST_CAMPAIGN = (
    "Dear Sir or Madam,\n\n"
    "I am writing to object to the installation of any more multi-functional smart lampposts in our "
    "district until the Government publishes exactly which sensors and cameras each lamppost carries, "
    "what data they collect, how long the data are kept and which departments can see them. Residents "
    "were never properly consulted before the first lampposts went up in Kwun Tong. I ask the "
    "Government to suspend the programme, commission an independent privacy impact assessment and "
    "publish it in full before a single new lamppost is installed.\n\n"
    "Yours faithfully,\nChan Tai Man"
)
LAMPPOST_COPIES = {
    "identical": LAMPPOST_CAMPAIGN,
    "greeting and name changed": LAMPPOST_CAMPAIGN.replace("Dear Sir or Madam,", "To the Smart City Office:").replace(
        "Yours faithfully,\nChan Tai Man", "Regards,\nWong Siu Ling (Ngau Tau Kok)"
    ),
    "sentence added": LAMPPOST_CAMPAIGN.replace(
        "installed.", "installed. I would also like every recording deleted automatically after thirty days."
    ),
    "punctuation, case and spacing": LAMPPOST_CAMPAIGN.lower()
    .replace(",", "")
    .replace("\n", " ")
    .replace(". ", ".   ")
    .replace("multi-functional", "multi functional"),
    "two typos": LAMPPOST_CAMPAIGN.replace("installation", "instalation").replace(
        "Government publishes", "Goverment publishes"
    ),
    "a paragraph of their own added": LAMPPOST_CAMPAIGN.replace(
        "Yours faithfully",
        (
            "My flat faces the lamppost outside Tsui Ping Estate and the camera on it points at our living room. "
            "My children are afraid to open the curtains, and nobody at the district office could tell me who "
            "watches the footage.\n\nYours faithfully"
        ),
    ),
    "all of these": LAMPPOST_CAMPAIGN.replace("Dear Sir or Madam,", "Hi,")
    .replace("consulted", "consultted")
    .replace("Chan Tai Man", "Lee Ka Yan")
    .upper()
    + " Thank you for listening.",
}

# Cantonese, as residents write it.
MINIBUS_CAMPAIGN = (
    "運輸署：\n"
    "我哋強烈要求政府規定全港綠色專線小巴喺明年底之前全部接受電子支付，包括八達通、轉數快、信用卡同手機錢包。"
    "而家好多後生仔同遊客身上根本冇散紙，上到車先發現淨係收現金，搞到司機同乘客都好尷尬。"
    "政府應該全數資助小巴營辦商安裝新嘅收費系統，唔好再將成本轉嫁俾乘客。\n"
    "一位關注交通嘅市民"
)
MINIBUS_COPIES = {
    "identical": MINIBUS_CAMPAIGN,
    "greeting and name changed": MINIBUS_CAMPAIGN.replace("運輸署：", "各位官員你好！").replace(
        "一位關注交通嘅市民", "深水埗居民 陳小姐"
    ),
    "sentence added": MINIBUS_CAMPAIGN + "\n多謝各位，希望盡快收到回覆。",
    "a paragraph of their own added": MINIBUS_CAMPAIGN.replace(
        "唔好再將", "我屋企樓下個站成日有遊客問點樣俾錢，我次次都要幫佢哋找散紙，真係好唔方便。唔好再將"
    ),
    "punctuation and spacing": MINIBUS_CAMPAIGN.replace("，", ", ")
    .replace("。", " ")
    .replace("、", "/")
    .replace("\n", ""),
    "two typos": MINIBUS_CAMPAIGN.replace("尷尬", "監尬").replace("營辦商", "營運商"),
    # Typed by hand in Simplified, not converted by the code under test.
    "Simplified copy": (
        "运输署：\n"
        "我哋强烈要求政府规定全港绿色专线小巴喺明年底之前全部接受电子支付，包括八达通、转数快、信用卡同手机钱包。"
        "而家好多后生仔同游客身上根本冇散纸，上到车先发现净系收现金，搞到司机同乘客都好尴尬。"
        "政府应该全数资助小巴营办商安装新嘅收费系统，唔好再将成本转嫁俾乘客。\n"
        "一位关注交通嘅市民"
    ),
}

# Written Chinese, and short: every edit weighs more.
LAMPPOST_CAMPAIGN_ZH = (
    "本人反對在屯門區加裝多功能智慧燈柱。政府至今未有清楚交代每支燈柱裝有甚麼感應器和鏡頭、"
    "收集的數據保存多久及由哪些部門查閱。在完成獨立的私隱影響評估並向公眾公布結果之前，請暫停計劃。"
)
LAMPPOST_ZH_COPIES = {
    "identical": LAMPPOST_CAMPAIGN_ZH,
    "district changed": LAMPPOST_CAMPAIGN_ZH.replace("屯門區", "元朗區"),
    "sentence added": LAMPPOST_CAMPAIGN_ZH + "多謝。",
    "one typo": LAMPPOST_CAMPAIGN_ZH.replace("查閱", "杳閱"),
    "Simplified copy": (
        "本人反对在屯门区加装多功能智慧灯柱。政府至今未有清楚交代每支灯柱装有什么感应器和镜头、"
        "收集的数据保存多久及由哪些部门查阅。在完成独立的私隐影响评估并向公众公布结果之前，请暂停计划。"
    ),
}

# Different residents on the same topic, in the same vocabulary: not copies of each other.
SAME_TOPIC = {
    "MTR arrival times (English)": (
        "The real-time arrival screens at MTR stations are useful, but the MTR Mobile app often shows a "
        "train arriving in 2 minutes when it is really 6 minutes away, especially on the Tung Chung line. "
        "Could the data be made more accurate, and could the app show how crowded each car is?",
        "Please add real-time arrival information for the Light Rail and the MTR feeder buses to the "
        "MTR Mobile app. At the Tuen Mun stops I have no idea when the next train is coming, and elderly "
        "residents cannot read the small screens on the platform.",
    ),
    "MTR arrival times (Cantonese and written Chinese)": (
        "港鐵站月台嘅實時到站資訊好有用，但係手機app顯示嘅到站時間成日唔準，話兩分鐘有車，結果等咗六分鐘。"
        "希望港鐵改善數據，同埋顯示每卡車廂有幾擠迫。",
        "建議在輕鐵及港鐵接駁巴士站加設實時到站資訊顯示屏，並於港鐵手機應用程式提供巴士到站時間，"
        "方便長者及行動不便人士預計候車時間。",
    ),
    "minibus e-payment (English)": (
        "Red minibuses should accept Octopus and QR code payments like green minibuses do. As a tourist I "
        "could not find a single minibus that takes credit cards, and I had to ask strangers for coins.",
        "Since green minibuses started taking contactless payment, drivers on route 46X say the card "
        "readers are often offline. Please require operators to keep a working Octopus reader on every "
        "minibus and publish how often payments fail.",
    ),
    "minibus e-payment (Cantonese campaign and a driver)": (
        MINIBUS_CAMPAIGN,
        "我係小巴司機，電子支付係好，但係裝部新收費機要成幾萬蚊，營辦商唔肯出錢。"
        "政府如果要推，應該先搞清楚邊個負責維修同埋手續費點計，唔好淨係叫我哋跟，乘客同司機都唔想搞到咁尷尬。",
    ),
    "smart lampposts (campaign and a supporter)": (
        LAMPPOST_CAMPAIGN,
        "I support the smart lampposts in Kwun Tong because the air quality and traffic data are useful, "
        "but the Government should explain in plain language which data each lamppost collects and "
        "promise that no facial recognition cameras will ever be installed.",
    ),
    "smart lampposts (written Chinese campaign and a Cantonese supporter)": (
        LAMPPOST_CAMPAIGN_ZH,
        "智慧燈柱收集嘅交通同天氣數據其實幾有用，不過政府要講清楚會唔會用嚟人臉識別。"
        "我建議喺每支燈柱貼QR code，一掃就知裝咗咩感應器同鏡頭。",
    ),
}

CAMPAIGNS = {
    "lampposts, English": (LAMPPOST_CAMPAIGN, LAMPPOST_COPIES),
    "minibuses, Cantonese": (MINIBUS_CAMPAIGN, MINIBUS_COPIES),
    "lampposts, written Chinese": (LAMPPOST_CAMPAIGN_ZH, LAMPPOST_ZH_COPIES),
}
COPIES = [
    pytest.param(original, copy, id=f"{campaign}: {edit}")
    for campaign, (original, copies) in CAMPAIGNS.items()
    for edit, copy in copies.items()
]


@pytest.mark.parametrize("original, copy", COPIES)
def test_an_edited_copy_of_a_campaign_text_is_a_near_copy(original, copy):
    assert is_near_copy(signature(original), signature(copy))


@pytest.mark.parametrize("original, copy", COPIES)
def test_the_index_finds_an_edited_copy_with_one_lookup(original, copy):
    assert set(band_keys(signature(original))) & set(band_keys(signature(copy)))


@pytest.mark.parametrize("topic", SAME_TOPIC)
def test_two_residents_on_the_same_topic_are_not_near_copies(topic):
    first, second = (signature(text) for text in SAME_TOPIC[topic])
    assert not is_near_copy(first, second)
    assert similarity(first, second) < CAMPAIGN_SIMILARITY / 2


# Other views, made of sentences from different residents, several on the campaigns' topics.
OBSERVATIONS = [
    "The MTR Mobile app crashes whenever I try to check the Tseung Kwan O line.",
    "Many smart lampposts in Sha Tin have cameras pointing straight at residential windows.",
    "Green minibus 20M still only takes cash after nine in the evening.",
    "The Wi-Fi at the Central Library disconnects every ten minutes.",
    "Booking a vaccination slot online took me four attempts last week.",
    "Parking meters in Mong Kok accept Octopus but the app never shows which spaces are free.",
    "The new smart bins in Tai Po are full by noon and nobody empties them until evening.",
    "Elderly people in my building cannot use the iAM Smart app without help.",
    "Traffic lights at the Nathan Road junction give pedestrians only a few seconds to cross.",
    "The Government's open data portal still publishes bus arrival data in an old format.",
    "Cycling tracks in Tuen Mun end suddenly without any signs.",
    "Queues at the hospital pharmacy are long because prescriptions are still printed on paper.",
    "Air quality readings from the lampposts are not shown anywhere the public can see them.",
    "Red minibus drivers refuse to give change for a hundred-dollar note.",
    "The real-time arrival board at my bus stop has been blank for a month.",
]
REQUESTS = [
    "Please publish a timetable for fixing it.",
    "Could the Transport Department require operators to report these problems?",
    "I hope the Government will consult residents before expanding the scheme.",
    "Please make the data available in the open data portal.",
    "A simple hotline for elderly users would help a lot.",
    "The privacy commissioner should review what is being recorded.",
    "Please add a QR code so that we can report faults directly.",
    "Could the district council hold a public meeting on this?",
    "Other cities solved this years ago, so please learn from them.",
    "Funding should go to maintenance before any new devices are installed.",
    "Please include Chinese and English instructions on every device.",
    "It would be better to run a trial in one district first.",
]
CLOSINGS = [
    "Thank you.",
    "Many thanks for reading.",
    "I look forward to your reply.",
    "Regards, a Sai Kung resident.",
    "This affects thousands of commuters every day.",
    "My neighbours feel the same.",
    "Please act soon.",
    "I have written about this before without an answer.",
    "",
    "Best wishes.",
]
OBSERVATIONS_ZH = [
    "港鐵app成日死機，睇唔到將軍澳綫下一班車幾時到。",
    "沙田啲智慧燈柱個鏡頭對正住宅窗口，好多街坊都擔心。",
    "專線小巴夜晚九點之後淨係收現金，冇八達通好麻煩。",
    "公共圖書館嘅免費無線上網成日斷線。",
    "網上預約疫苗要試好多次先成功。",
    "旺角咪錶可以用八達通畀錢，但係app唔會話你知邊度有空位。",
    "大埔新裝嘅智能垃圾桶中午已經爆滿。",
    "屋企長者唔識用智方便，每次都要人幫手。",
    "彌敦道啲交通燈俾行人過馬路嘅時間太短。",
    "巴士站嘅實時到站顯示屏壞咗成個月都冇人修。",
    "醫院藥房仲係用紙本處方，排隊排好耐。",
    "燈柱收集嘅空氣質素數據市民完全睇唔到。",
]
REQUESTS_ZH = [
    "希望政府盡快公布維修時間表。",
    "運輸署應該要求營辦商定期匯報。",
    "擴展計劃之前請先諮詢區內居民。",
    "請將數據放上資料一線通俾大家下載。",
    "可唔可以設一條長者專線？",
    "私隱專員應該檢視收集咗啲乜嘢資料。",
    "建議喺每部機貼QR code方便報告故障。",
    "其他城市早就解決咗，希望政府參考吓。",
    "與其買新設備，不如先做好保養。",
    "建議先喺一個地區試行。",
]
CLOSINGS_ZH = ["唔該晒。", "多謝。", "期待回覆。", "街坊都係咁諗。", "請盡快處理。", ""]


def other_views() -> list[str]:
    rng = random.Random(2026)
    english = {(rng.choice(OBSERVATIONS), rng.choice(REQUESTS), rng.choice(CLOSINGS)) for _ in range(400)}
    chinese = {(rng.choice(OBSERVATIONS_ZH), rng.choice(REQUESTS_ZH), rng.choice(CLOSINGS_ZH)) for _ in range(400)}
    views = [" ".join(parts).strip() for parts in sorted(english)[:150]]
    views += ["".join(parts) for parts in sorted(chinese)[:150]]
    assert len(views) == 300
    return views


def test_other_views_rarely_share_a_band_key_with_a_campaign():
    others = [set(band_keys(signature(text))) for text in other_views()]
    for _, copies in CAMPAIGNS.values():
        for copy in copies.values():
            keys = set(band_keys(signature(copy)))
            colliding = sum(bool(keys & other) for other in others)
            assert colliding <= 3, (copy[:30], colliding)  # 1% of 300: a handful of extra comparisons


def test_band_keys_are_signed_64_bit_one_per_band_and_differ_between_bands():
    keys = band_keys(signature(LAMPPOST_CAMPAIGN))
    assert len(keys) == BANDS
    assert all(-(2**63) <= key < 2**63 for key in keys)
    # Equal values in two bands are still different keys: the band number is part of the key.
    assert len(set(band_keys(Signature(bytes(4 * NUM_PERM))))) == BANDS


def test_band_keys_are_the_same_in_another_process_with_another_hash_seed():
    script = (
        "import json, sys\nfrom feedback_app.text.near_duplicates import band_keys, signature\n"
        "print(json.dumps([band_keys(signature(text)) for text in json.load(sys.stdin)]))"
    )
    texts = [LAMPPOST_CAMPAIGN, MINIBUS_CAMPAIGN, MINIBUS_COPIES["Simplified copy"]]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
    )
    assert json.loads(result.stdout) == [band_keys(signature(text)) for text in texts]


# Computed once and stored, as the database stores them.
PINNED_KEYS = {
    "Please keep cash payment on minibuses.": [1467214469220727107, 1066368174491340015],
    "請保留小巴收現金，唔係個個長者都有八達通。": [-8296164845380991165, -2538523560602899204],
}


@pytest.mark.parametrize("text", PINNED_KEYS)
def test_keys_stay_what_the_database_already_stores(text):
    # If this fails, a parameter or a dependency (datasketch, OpenCC's tables) changed how keys are
    # made: every stored signature and key must be recomputed before the new code goes live.
    assert band_keys(signature(text))[:2] == PINNED_KEYS[text]


def test_a_signature_survives_storage():
    sig = signature(MINIBUS_CAMPAIGN)
    stored = sig.to_bytes()
    assert isinstance(stored, bytes) and len(stored) == 4 * NUM_PERM  # 512 bytes: one uint32 per permutation
    assert Signature.from_bytes(stored) == sig
    assert Signature.from_bytes(memoryview(stored)) == sig  # as some database drivers return it
    with pytest.raises(ValueError):
        Signature.from_bytes(stored[:-4])


@pytest.mark.parametrize("text", ["", "   \n\t ", "！？。…!!! --- ...", "🙂🙂👍"])
def test_a_text_without_letters_or_digits_has_no_signature(text):
    assert signature(text) is None


def test_a_one_word_view_is_a_copy_only_of_the_same_word():
    assert is_near_copy(signature("Agree!"), signature("  AGREE "))
    assert not is_near_copy(signature("Agree"), signature("Disagree"))
    assert not is_near_copy(signature("支持"), signature("反對"))
