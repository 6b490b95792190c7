"""Word pools for the generated corpus: topics in Russian and English, outlets, boilerplate.

Articles on one topic draw their phrases from one pool, so two different articles on the
same topic share names and stock phrases the way real news does (hard negatives).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    lang: str
    actors: tuple[str, ...]  # people and bodies that act and speak (nominative)
    subjects: tuple[str, ...]  # who does things in a clause
    verbs: tuple[str, ...]  # what they do (takes an object)
    objects: tuple[str, ...]  # what it is done to
    metrics: tuple[str, ...]  # "the volume of trade" for figures
    places: tuple[str, ...]  # "в Астане", "in Brussels"
    titles: tuple[str, ...]  # title templates with {actor}, {object}, {place}


RU_SAID = ("заявил", "отметил", "подчеркнул", "сообщил", "напомнил", "добавил", "уточнил",
           "рассказал", "пояснил", "указал")
RU_ADVERBIALS = (
    "в ближайшие годы", "до конца года", "в рамках ЕАЭС", "на полях саммита",
    "уже в следующем месяце", "по итогам переговоров", "в среднесрочной перспективе",
    "на системной основе", "в приоритетном порядке", "с учетом новых вызовов",
    "в рамках государственной программы", "на региональном уровне", "в течение пяти лет",
    "в тесном взаимодействии с бизнесом", "несмотря на внешние ограничения",
    "на взаимовыгодной основе", "в новых экономических условиях", "по поручению правительства",
)
RU_OPENERS = ("При этом", "Кроме того", "Вместе с тем", "Также", "Помимо этого", "Между тем",
              "В свою очередь", "Как ожидается,", "По предварительным данным,", "Напомним,")
RU_UNITS = ("млрд тенге", "млн долларов", "млрд рублей", "тыс. тонн", "процентов",
            "млн кубометров", "тыс. человек", "км", "единиц техники", "млрд долларов")
EN_SAID = ("said", "noted", "stressed", "told reporters", "added", "explained", "pointed out",
           "confirmed", "argued", "wrote")
EN_ADVERBIALS = (
    "in the coming years", "by the end of the year", "as early as next month",
    "after weeks of talks", "on the sidelines of the summit", "over the next five years",
    "despite mounting pressure", "in close cooperation with industry", "for the first time",
    "under the new framework", "at the regional level", "amid rising costs",
    "on a voluntary basis", "in the medium term", "following a review", "without delay",
)
EN_OPENERS = ("Meanwhile,", "At the same time,", "In addition,", "However,", "Separately,",
              "Earlier,", "As expected,", "According to preliminary figures,", "Still,",
              "In a statement,")
EN_UNITS = ("billion dollars", "million euros", "percent", "thousand tonnes", "million barrels",
            "thousand jobs", "kilometres", "million users", "billion pounds", "units")

RU_TOPICS = (
    Topic(
        "ru-politics", "ru",
        actors=("Президент Казахстана Касым-Жомарт Токаев", "Президент России Владимир Путин",
                "министр иностранных дел Мурат Нуртлеу", "пресс-секретарь Кремля Дмитрий Песков",
                "глава МИД России Сергей Лавров", "премьер-министр Олжас Бектенов",
                "посол Казахстана в России Дания Ермекбаев", "председатель Сената Маулен Ашимбаев"),
        subjects=("стороны", "делегации двух стран", "главы государств", "министры",
                  "рабочая группа", "парламентарии", "представители правительств",
                  "эксперты двух стран", "участники встречи", "лидеры государств"),
        verbs=("обсудили", "намерены укреплять", "договорились расширять", "высоко оценили",
               "рассмотрели", "подтвердили приверженность курсу на", "выступили за развитие",
               "наметили шаги по углублению", "подписали документы о", "обменялись мнениями о"),
        objects=("стратегическое партнерство и союзничество", "межрегиональное сотрудничество",
                 "вопросы региональной безопасности", "двустороннюю повестку дня",
                 "взаимодействие в рамках ОДКБ и СНГ", "гуманитарные связи двух народов",
                 "координацию на международных площадках", "договорно-правовую базу отношений",
                 "подготовку государственного визита", "развитие приграничных территорий"),
        metrics=("число совместных проектов", "количество межправительственных соглашений",
                 "число визитов на высшем уровне", "объем товарооборота"),
        places=("в Астане", "в Москве", "в Алматы", "в Санкт-Петербурге", "в Оренбурге",
                "в Казани", "в Бишкеке", "на полях форума в Минске"),
        titles=("{actor} обсудил {object}", "В {place_bare} обсудили {object}",
                "Казахстан и Россия обсудили {object}", "{actor}: стороны укрепляют {object}",
                "Новые горизонты: {object}"),
    ),
    Topic(
        "ru-economy", "ru",
        actors=("министр торговли и интеграции Арман Шаккалиев", "глава Нацбанка Тимур Сулейменов",
                "министр экономики Нурлан Байбазаров", "председатель правления «Атамекен»",
                "аналитик Freedom Finance Азамат Нурланов", "вице-министр финансов Ержан Биржанов",
                "глава ассоциации предпринимателей", "экономист Айдархан Кусаинов"),
        subjects=("российские компании", "казахстанские экспортеры", "банки второго уровня",
                  "иностранные инвесторы", "малый и средний бизнес", "торговые сети",
                  "производители", "государственные холдинги", "логистические операторы",
                  "финансовые регуляторы"),
        verbs=("увеличили", "нарастили", "планируют инвестировать в", "сократили",
               "намерены расширить", "пересмотрели", "вложили средства в", "снизили",
               "переориентировали", "запустили"),
        objects=("экспорт несырьевых товаров", "взаимные инвестиции", "объем кредитования",
                 "производство строительных материалов", "поставки продовольствия",
                 "совместные предприятия в обрабатывающей промышленности",
                 "товарооборот с соседними странами", "расчеты в национальных валютах",
                 "программу импортозамещения", "цепочки добавленной стоимости"),
        metrics=("объем взаимной торговли", "приток прямых иностранных инвестиций",
                 "инфляция в годовом выражении", "объем экспорта", "рост ВВП"),
        places=("в Астане", "в Алматы", "в Шымкенте", "в Караганде", "в Актобе", "в Павлодаре",
                "в Костанае", "на бирже AIX"),
        titles=("{actor}: {object} растет", "Казахстан и Россия нарастили {object}",
                "Бизнес нарастил {object}", "Эксперты оценили {object}", "{object}: итоги года"),
    ),
    Topic(
        "ru-energy", "ru",
        actors=("министр энергетики Алмасадам Саткалиев", "глава «Самрук-Энерго»",
                "председатель правления KEGOC", "глава «Газпрома» Алексей Миллер",
                "аким Павлодарской области", "эксперт по энергетике Нурлан Жумагулов",
                "глава «КазМунайГаза» Асхат Хасенов", "вице-министр энергетики Болат Акчулаков"),
        subjects=("энергетики", "газотранспортные компании", "угольные разрезы", "операторы ТЭЦ",
                  "нефтяные компании", "сетевые компании", "генерирующие станции",
                  "инвесторы в возобновляемую энергетику", "региональные акиматы",
                  "российские партнеры"),
        verbs=("модернизируют", "построят", "увеличат", "подготовили к зиме", "ввели в строй",
               "начали газификацию", "нарастят транзит", "завершили ремонт", "запустили",
               "реконструируют"),
        objects=("Экибастузскую ГРЭС", "три новые ТЭЦ", "магистральный газопровод",
                 "котлоагрегаты станции", "электросети северных регионов",
                 "транзит российского газа", "солнечные электростанции", "ветропарки",
                 "систему теплоснабжения", "нефтеперерабатывающий завод"),
        metrics=("выработка электроэнергии", "транзит газа", "добыча нефти", "износ сетей",
                 "потребление электроэнергии"),
        places=("в Экибастузе", "в Кокшетау", "в Семее", "в Усть-Каменогорске", "в Атырау",
                "в Павлодаре", "в Таразе", "в Кызылорде"),
        titles=("{actor}: {object} готовы к зиме", "В {place_bare} модернизируют {object}",
                "Энергетики запустили {object}", "Газификация: {object}", "{object} обновят"),
    ),
    Topic(
        "ru-transport", "ru",
        actors=("министр транспорта Марат Карабаев", "глава «Қазақстан темір жолы»",
                "председатель комитета транспорта", "директор порта Актау",
                "эксперт по логистике Ерлан Смаилов", "глава РЖД Олег Белозеров",
                "аким Мангистауской области", "вице-министр транспорта Талгат Ластаев"),
        subjects=("железнодорожники", "логистические компании", "перевозчики", "порты Каспия",
                  "авиакомпании", "операторы контейнерных поездов", "дорожные службы",
                  "экспедиторы", "таможенные органы", "транзитные операторы"),
        verbs=("увеличили перевозки по", "открыли", "реконструируют", "нарастили транзит через",
               "запустили новый маршрут через", "ускорили оформление на", "модернизируют",
               "расширили", "построят", "электрифицируют"),
        objects=("Транскаспийский маршрут", "коридор Север — Юг", "пункты пропуска на границе",
                 "участок Достык — Мойынты", "контейнерный хаб в Актау",
                 "вторые пути на загруженных участках",
                 "автодорогу Западная Европа — Западный Китай",
                 "аэропорты областных центров", "паромную линию", "сухой порт Хоргос"),
        metrics=("объем транзитных перевозок", "грузооборот", "число контейнерных поездов",
                 "пассажиропоток"),
        places=("в Актау", "в Достыке", "на станции Алтынколь", "в Хоргосе", "в Петропавловске",
                "в Уральске", "в Курыке", "в Туркестане"),
        titles=("{object}: транзит растет", "{actor} рассказал о развитии {object_gen}",
                "Перевозчики нарастили транзит", "Новый этап: {object}",
                "В {place_bare} открыли {object}"),
    ),
    Topic(
        "ru-society", "ru",
        actors=("министр просвещения Гани Бейсембаев",
                "министр здравоохранения Акмарал Альназарова",
                "аким Алматы Ерболат Досаев", "главный санитарный врач", "ректор КазНУ",
                "председатель Союза художников", "директор городской больницы",
                "министр культуры Аида Балаева"),
        subjects=("школы", "поликлиники", "волонтеры", "студенты", "городские власти",
                  "врачи", "библиотеки", "театры", "родители школьников", "учителя"),
        verbs=("получат", "открыли", "проведут", "расширят", "запустили программу по",
               "обновили", "перевели в онлайн", "модернизируют", "поддержали", "организовали"),
        objects=("новые учебные корпуса", "цифровые сервисы для пациентов",
                 "фестиваль уличного искусства",
                 "программу бесплатного питания", "приемные кампании вузов", "вакцинацию от гриппа",
                 "летние лагеря", "гастроли национального театра", "конкурс молодых ученых",
                 "центры ментального здоровья"),
        metrics=("число учащихся", "количество обращений", "число посетителей",
                 "охват вакцинацией"),
        places=("в Алматы", "в Астане", "в Шымкенте", "в Талдыкоргане", "в Кызылорде",
                "в Петропавловске", "в Туркестане", "в Жезказгане"),
        titles=("В {place_bare} открыли {object}", "{actor} рассказал о {object_prep}",
                "Горожане оценили {object}", "Что изменится: {object}", "{object} расширят"),
    ),
)

EN_TOPICS = (
    Topic(
        "en-diplomacy", "en",
        actors=("Secretary of State Antony Blinken", "EU foreign policy chief Kaja Kallas",
                "German Chancellor Olaf Scholz", "French President Emmanuel Macron",
                "UN Secretary-General Antonio Guterres", "NATO chief Mark Rutte",
                "British Foreign Secretary David Lammy", "Polish Prime Minister Donald Tusk"),
        subjects=("the two sides", "European ministers", "diplomats", "the delegations",
                  "negotiators", "allied governments", "the foreign ministers", "officials",
                  "senior envoys", "member states"),
        verbs=("discussed", "agreed to expand", "pledged to strengthen", "reviewed",
               "called for", "committed to", "drafted a plan for", "signed a deal on",
               "raised concerns about", "outlined steps toward"),
        objects=("a ceasefire framework", "sanctions enforcement", "energy security in Europe",
                 "military aid packages", "a new trade partnership", "border security cooperation",
                 "the reconstruction fund", "humanitarian corridors", "arms control talks",
                 "visa facilitation"),
        metrics=("the aid package", "defense spending", "the reconstruction budget",
                 "the number of troops"),
        places=("in Brussels", "in Washington", "in Paris", "in Berlin", "in Warsaw", "in Geneva",
                "in London", "in Vienna"),
        titles=("{actor} discusses {object}", "Talks in {place_bare} focus on {object}",
                "Allies weigh {object}", "{actor} calls for {object}", "What's next for {object}"),
    ),
    Topic(
        "en-markets", "en",
        actors=("Fed Chair Jerome Powell", "ECB President Christine Lagarde",
                "Treasury Secretary Janet Yellen", "analyst Sarah Chen of Morgan Stanley",
                "economist Paul Krugman", "JPMorgan chief Jamie Dimon",
                "Bank of England Governor Andrew Bailey", "strategist Tom Lee"),
        subjects=("investors", "central banks", "retail traders", "bond markets", "tech stocks",
                  "oil producers", "hedge funds", "regional lenders", "exporters",
                  "consumers"),
        verbs=("pulled money from", "piled into", "cut exposure to", "raised forecasts for",
               "bet heavily on", "sold off", "reassessed", "priced in", "hedged against",
               "poured billions into"),
        objects=("government bonds", "emerging-market currencies", "artificial intelligence stocks",
                 "rate cuts this year", "commercial real estate", "the dollar",
                 "small-cap shares", "gold and other havens", "corporate credit", "energy futures"),
        metrics=("inflation", "the benchmark index", "bond yields", "quarterly profit",
                 "consumer spending"),
        places=("in New York", "in London", "in Frankfurt", "in Tokyo", "in Hong Kong",
                "in Singapore", "in Chicago", "in Zurich"),
        titles=("Markets: investors rethink {object}", "{actor} warns on {object}",
                "Why traders are watching {object}", "{object} rally loses steam",
                "Wall Street weighs {object}"),
    ),
    Topic(
        "en-tech", "en",
        actors=("OpenAI chief Sam Altman", "Microsoft CEO Satya Nadella", "Google's Sundar Pichai",
                "Nvidia CEO Jensen Huang", "EU digital chief Margrethe Vestager",
                "researcher Timnit Gebru", "Apple's Tim Cook", "Meta's Mark Zuckerberg"),
        subjects=("chipmakers", "regulators", "cloud providers", "startups", "app developers",
                  "privacy advocates", "data centre operators", "security researchers",
                  "smartphone makers", "lawmakers"),
        verbs=("unveiled", "delayed", "invested heavily in", "cracked down on", "rolled out",
               "scaled back", "opened an inquiry into", "struck a deal on", "tested", "patched"),
        objects=("new AI models", "data centre capacity", "an antitrust probe", "encryption rules",
                 "chip export controls", "a security flaw", "subscription pricing",
                 "child safety features", "satellite internet service", "open-source tools"),
        metrics=("cloud revenue", "chip sales", "monthly active users", "capital spending"),
        places=("in San Francisco", "in Seattle", "in Brussels", "in Taipei", "in Seoul",
                "in Austin", "in Dublin", "in Bangalore"),
        titles=("{actor} unveils {object}", "Regulators target {object}",
                "Inside the race for {object}",
                "{object}: what changes for users", "Tech giants bet on {object}"),
    ),
    Topic(
        "en-climate", "en",
        actors=("UN climate chief Simon Stiell", "US climate envoy John Podesta",
                "scientist Friederike Otto", "Greenpeace director Jennifer Morgan",
                "energy analyst Fatih Birol", "Brazilian minister Marina Silva",
                "meteorologist Ana Lopez", "EU climate commissioner Wopke Hoekstra"),
        subjects=("scientists", "coastal cities", "farmers", "utilities", "insurers",
                  "environmental groups", "island nations", "wind developers", "automakers",
                  "local councils"),
        verbs=("warned about", "invested in", "adapted to", "lobbied against", "measured",
               "tracked", "rebuilt", "phased out", "expanded", "cut emissions from"),
        objects=("record heat waves", "offshore wind farms", "coal power plants",
                 "flood defences", "methane leaks", "drought-resistant crops", "carbon markets",
                 "electric vehicle charging networks", "glacier melt", "wildfire risk"),
        metrics=("global emissions", "average temperatures", "solar capacity", "sea levels"),
        places=("in Dubai", "in Bonn", "in Nairobi", "in Jakarta", "in Madrid", "in Manila",
                "in Sao Paulo", "in Copenhagen"),
        titles=("{actor} warns on {object}", "Climate talks turn to {object}",
                "The cost of {object}", "Scientists track {object}", "{object} set new records"),
    ),
    Topic(
        "en-health", "en",
        actors=("WHO chief Tedros Adhanom Ghebreyesus", "CDC director Mandy Cohen",
                "epidemiologist Maria Van Kerkhove", "NHS England chief Amanda Pritchard",
                "health secretary Wes Streeting", "virologist Eric Topol",
                "Pfizer CEO Albert Bourla", "public health expert Leana Wen"),
        subjects=("hospitals", "health officials", "drugmakers", "researchers", "nurses",
                  "insurers", "patients", "pharmacies", "clinics", "regulators"),
        verbs=("approved", "reported a rise in", "launched a trial of", "struggled with",
               "expanded access to", "raised prices of", "warned against", "rolled out",
               "tracked", "recalled"),
        objects=("a new weight-loss drug", "measles cases", "flu vaccines", "waiting lists",
                 "mental health services", "an experimental cancer therapy",
                 "antibiotic resistance",
                 "telehealth appointments", "bird flu in dairy cattle", "generic insulin"),
        metrics=("hospital admissions", "vaccination rates", "waiting times", "drug prices"),
        places=("in Geneva", "in Atlanta", "in London", "in Toronto", "in Sydney", "in Boston",
                "in Cape Town", "in Mumbai"),
        titles=("{actor} on {object}", "Officials report {object}", "What to know about {object}",
                "{object} under scrutiny", "Doctors warn on {object}"),
    ),
)

RU_OUTLETS = ("Turantimes.kz", "Kazinform", "Tengrinews.kz", "Zakon.kz", "КазТАГ",
              "Sputnik Казахстан", "Kursiv.media", "Orda.kz", "Vlast.kz", "Inbusiness.kz",
              "ТАСС", "РИА Новости", "Интерфакс", "РБК", "Forbes.kz")
RU_ORIGINS = (("газета", "Известия"), ("газета", "Коммерсантъ"), ("агентство", "ТАСС"),
              ("агентство", "Интерфакс"), ("издание", "РБК"), ("газета", "Ведомости"),
              ("портал", "Kazinform"), ("газета", "Российская газета"))
EN_OUTLETS = ("Reuters", "AP", "AFP", "Bloomberg", "The Guardian", "BBC", "CNN", "Axios",
              "Politico", "NPR", "Al Jazeera", "Euronews")

RU_BOILERPLATE = (
    "Подписывайтесь на наш Telegram-канал, чтобы первыми узнавать главные новости.",
    "Подписывайтесь на наши каналы в Telegram и Instagram.",
    "Больше новостей в нашем Telegram-канале.",
    "Нашли ошибку? Выделите ее и нажмите Ctrl+Enter.",
    "Фото: пресс-служба Акорды",
    "Фото: архив редакции",
    "Реклама. 18+",
    "Следите за новостями Казахстана и мира в нашем Instagram.",
    "При использовании материалов ссылка на источник обязательна.",
)
EN_BOILERPLATE = (
    "Subscribe to our newsletter for the latest updates.",
    "Follow us on X, Facebook and Instagram.",
    "Sign up for our morning briefing.",
    "Photo: Reuters/File",
    "Advertisement",
    "Share this article with a friend.",
    "All rights reserved. © 2024 Global Media Group.",
    "Click here to read our coverage of the election.",
)
RU_RELATED = "Читайте также: "
EN_RELATED = "Read more: "

RU_CITIES = ("Алматы", "Астане", "Шымкенте", "Караганде", "Актобе", "Павлодаре", "Костанае",
             "Уральске", "Атырау", "Таразе", "Семее", "Кокшетау")
RU_DATELINE_CITIES = ("АСТАНА", "АЛМАТЫ", "МОСКВА", "ШЫМКЕНТ", "БИШКЕК")
EN_CITIES = ("Boston", "Denver", "Seattle", "Austin", "Chicago", "Atlanta", "Phoenix", "Portland",
             "Dallas", "Miami", "Detroit", "Nashville")
EN_DATELINE_CITIES = ("WASHINGTON", "LONDON", "BRUSSELS", "NEW YORK", "PARIS", "BERLIN")

RU_MONTHS_GEN = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                 "сентября", "октября", "ноября", "декабря")
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")
RU_WEEKDAYS_ACC = ("понедельник", "вторник", "среду", "четверг", "пятницу", "субботу",
                   "воскресенье")
EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

RU_TEAMS = ("Кайрат", "Астана", "Тобол", "Ордабасы", "Актобе", "Жетысу", "Елимай", "Шахтер",
            "Кызыл-Жар", "Атырау", "Туран", "Женис")
RU_PLAYERS = ("Жаксылыков", "Вагнер", "Сейдахмет", "Томасов", "Алип", "Бакаев", "Шушеначев",
              "Зайнутдинов", "Карбоз", "Бахтияров", "Мирошниченко", "Кенжебек")
EN_TEAMS = ("Arsenal", "Chelsea", "Liverpool", "Everton", "Fulham", "Brentford", "Wolves",
            "Brighton", "Newcastle", "Aston Villa", "Tottenham", "Bournemouth")
EN_PLAYERS = ("Saka", "Palmer", "Salah", "Isak", "Watkins", "Son", "Mbeumo", "Cunha",
              "Mitoma", "Iwobi", "Solanke", "Calvert-Lewin")
RU_DISTRICTS = ("Алмалинском", "Бостандыкском", "Ауэзовском", "Медеуском", "Турксибском",
                "Жетысуском", "Наурызбайском", "Алатауском")
RU_STREETS = ("Абая", "Сатпаева", "Жандосова", "Толе би", "Розыбакиева", "Байтурсынова",
              "Гагарина", "Муканова", "Шевченко", "Утеген батыра")
EN_TOWNS = ("Springfield", "Riverside", "Fairview", "Greenville", "Bristol", "Clinton",
            "Madison", "Georgetown", "Salem", "Franklin")
EN_ROADS = ("Main Street", "Oak Avenue", "Route 9", "Elm Road", "Harbor Drive", "Mill Lane",
            "Park Boulevard", "Lake Road", "Church Street", "Hill Avenue")
