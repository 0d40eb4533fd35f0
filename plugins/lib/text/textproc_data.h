/*
 * textproc_data — the language table of tp_lang.c: every Snowball
 * algorithm of libstemmer 2.x with its ISO 639-1 code, the script its
 * stemmer applies to, and a stopword list. Included once, by tp_lang.c.
 *
 * The English and Russian lists are the Snowball project's (ё written as е,
 * as the tokenizer folds it); the others are the most frequent function
 * words, enough to tell Latin-script languages apart and to drop noise
 * words from queries. Words are lower case, separated by single spaces.
 */
#ifndef RK_RETRIEVER_SQLITE_TEXTPROC_DATA_H
#define RK_RETRIEVER_SQLITE_TEXTPROC_DATA_H

typedef struct tp_lang_def {
    const char *name;  /* Snowball algorithm name */
    const char *code;  /* ISO 639-1 */
    tp_script script;
    const char *stop;
} tp_lang_def;

static const tp_lang_def tp_langs[] = {
    {"arabic", "ar", TP_SC_ARABIC,
     "في من على إلى عن مع هذا هذه ذلك التي الذي أن إن كان لا ما هو هي"},
    {"armenian", "hy", TP_SC_ARMENIAN, "և է են եմ ես ու որ այդ այն այս իր"},
    {"basque", "eu", TP_SC_LATIN,
     "eta da ez du dira zen bat hau hori ere bere beste baina edo baino oso "
     "dute izan zuen bezala egin dago daude den duen zuten gero orain hemen "
     "han non nola zer zein nor"},
    {"catalan", "ca", TP_SC_LATIN,
     "a al als amb de del dels el els en és era i la les per que qui se seu "
     "seus sense sobre un una uns unes però o com més molt també fins quan on "
     "ja no ni hi ha han ho aquest aquesta"},
    {"danish", "da", TP_SC_LATIN,
     "og i jeg det at en den til er som på de med han af for ikke der var mig "
     "sig men et har om vi min havde ham hun nu over da fra du ud sin dem os "
     "op man hans hvor eller hvad skal selv her alle vil blev kunne ind når "
     "være dog noget ville jo deres efter ned skulle denne end dette mit også "
     "under have dig anden hende mine alt meget sit sine vor mod disse hvis "
     "din nogle hos blive mange ad bliver hendes været thi jer sådan"},
    {"dutch", "nl", TP_SC_LATIN,
     "de en van ik te dat die in een hij het niet zijn is was op aan met als "
     "voor had er maar om hem dan zou of wat mijn men dit zo door over ze zich "
     "bij ook tot je mij uit der daar haar naar heb hoe heeft hebben deze u "
     "want nog zal me zij nu ge geen omdat iets worden toch al waren veel meer "
     "doen toen moet ben zonder kan hun dus alles onder ja eens hier wie werd "
     "altijd doch wordt wezen kunnen ons zelf tegen na reeds wil kon niets uw "
     "iemand geweest andere"},
    {"english", "en", TP_SC_LATIN,
     "i me my myself we our ours ourselves you your yours yourself yourselves "
     "he him his himself she her hers herself it its itself they them their "
     "theirs themselves what which who whom this that these those am is are "
     "was were be been being have has had having do does did doing would "
     "should could ought a an the and but if or because as until while of at "
     "by for with about against between into through during before after "
     "above below to from up down in out on off over under again further then "
     "once here there when where why how all any both each few more most other "
     "some such no nor not only own same so than too very s t can will just "
     "don shall may might must also"},
    {"finnish", "fi", TP_SC_LATIN,
     "olla olen olet on olemme olette ovat ole oli ja ei että se hän ne he me "
     "te minä sinä joka mikä kuka tämä tuo nämä jos kun niin mutta tai kuin "
     "myös vain sekä vaan jo nyt koska siis sitten kanssa mukaan vielä ollut"},
    {"french", "fr", TP_SC_LATIN,
     "au aux avec ce ces dans de des du elle en et eux il je la le les leur lui ma "
     "mais me même mes moi mon ne nos notre nous on ou par pas pour qu que qui "
     "sa se ses son sur ta te tes toi ton tu un une vos votre vous c d j l à m "
     "n s t y été étant suis es est sommes êtes sont était étaient fut ai as "
     "avons avez ont avait cette cet sont plus"},
    {"german", "de", TP_SC_LATIN,
     "aber alle allem allen aller alles als also am an ander andere anderem "
     "anderen anderer anderes auch auf aus bei bin bis bist da damit dann der "
     "den des dem die das dass daß du durch ein eine einem einen einer eines er "
     "es für hatte hat hier ich ihr ihre im in ist ja jede kann kein man mich "
     "mit muss nach nicht noch nun nur ob oder ohne sehr sein sich sie sind so "
     "über um und uns unter vom von vor war was weil welche wenn werden wie "
     "wir wird wo zu zum zur"},
    {"greek", "el", TP_SC_GREEK,
     "και το να του η την με τα για που της των από είναι στο θα δεν ο σε τον "
     "οι στην ότι"},
    {"hindi", "hi", TP_SC_DEVANAGARI,
     "के का एक में की है यह और से हैं को पर इस होता कि जो कर मे गया करने किया लिये "
     "अपने ने बनी नहीं तो ही या एवं दिया हो इसका था द्वारा हुआ तक साथ करना वाले बाद"},
    {"hungarian", "hu", TP_SC_LATIN,
     "a az egy be ki le fel meg el át rá ide oda szét össze vissza de hát és "
     "vagy hogy van lesz volt csak nem igen mint én te ő mi ti ők ez azt ezt "
     "nagyon már még is ha pedig mert amely ami aki után alatt között ahol "
     "amikor lett"},
    {"indonesian", "id", TP_SC_LATIN,
     "yang dan di ke dari ini itu dengan untuk pada adalah dalam tidak akan "
     "juga atau oleh sudah saya ia mereka kita kami kamu bisa ada lebih telah "
     "karena sebagai bahwa hanya seperti antara harus jika setelah tersebut"},
    {"irish", "ga", TP_SC_LATIN,
     "a ag an ar as ba de do faoi go i is le leis mar na ná nach ó sa seo sin "
     "sé sí siad tá bhí agus ach nó"},
    {"italian", "it", TP_SC_LATIN,
     "ad al allo ai agli all agl alla alle con col coi da dal dallo dai dagli "
     "dall dagl dalla dalle di del dello dei degli dell degl della delle in nel "
     "nello nei negli nell negl nella nelle su sul sullo sui sugli sull sugl "
     "sulla sulle per tra contro io tu lui lei noi voi loro mio mia miei mie "
     "tuo tua il lo la li le gli un uno una ma ed se perché anche come dov "
     "dove che chi cui non più quale quanto quanti quanta quante quello quelli "
     "quella quelle questo questi questa queste si tutto tutti è sono era"},
    {"lithuanian", "lt", TP_SC_LATIN,
     "ir kad bet ar iš į su per apie nuo ne tai jis ji jie jos jo jų mes jūs "
     "aš tu buvo yra bus kaip kur kai dar jau tik taip o net po prie už be "
     "arba nes"},
    {"nepali", "ne", TP_SC_DEVANAGARI, "र छ र पनि हो भने गर्न गरेको थियो यो त्यो"},
    {"norwegian", "no", TP_SC_LATIN,
     "og i jeg det at en et den til er som på de med han av ikke der så var "
     "meg seg men ett har om vi min mitt ha hadde hun nå over da ved fra du ut "
     "sin dem oss opp man kan hans hvor eller hva skal selv sjøl her alle vil "
     "bli ble blitt kunne inn når være kom noen noe ville dere deres kun ja "
     "etter ned skulle denne for deg si sine sitt mot å meget hvorfor dette "
     "disse uten hvordan ingen din ditt blir samme hvilken hvilke sånn inni "
     "mellom vår hver hvem vors hvis både bare enn fordi før mange også slik "
     "vært begge siden"},
    {"portuguese", "pt", TP_SC_LATIN,
     "de a o que e do da em um para com não uma os no se na por mais as dos "
     "como mas ao ele das à seu sua ou quando muito nos já eu também só pelo "
     "pela até isso ela entre depois sem mesmo aos seus quem nas me esse eles "
     "você essa num nem suas meu às minha numa pelos elas qual nós lhe deles "
     "essas esses pelas este dele tu te vocês vos lhes meus minhas teu tua é "
     "foi são era"},
    {"romanian", "ro", TP_SC_LATIN,
     "a acea aceasta această aceea acei aceia acel acela acele acelea acest "
     "acesta aceste acestea acolo acum ai aici al ale am ar are asupra au avea "
     "ca care cât ce cea cei cel cele cine cu dar de deci din după el ei ele "
     "este eu fi fie fost iar în la mai mult nu o ori pe pentru prin sa să se "
     "și şi sunt un una unde unei unui"},
    {"russian", "ru", TP_SC_CYRILLIC,
     "и в во не что он на я с со как а то все она так его но да ты к у же вы "
     "за бы по только ее мне было вот от меня еще нет о из ему теперь когда "
     "даже ну вдруг ли если уже или ни быть был него до вас нибудь опять уж "
     "вам ведь там потом себя ничего ей может они тут где есть надо ней для "
     "мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж "
     "тогда кто этот того потому этого какой совсем ним здесь этом один почти "
     "мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец "
     "два об другой хоть после над больше тот через эти нас про всего них "
     "какая много разве три эту моя впрочем хорошо свою этой перед иногда "
     "лучше чуть том нельзя такой им более всегда конечно всю между"},
    {"serbian", "sr", TP_SC_LATIN,
     "i u je da se na za od su sa kao to ne a ili koji koja koje ali što bi "
     "biti bio bila iz po"},
    {"spanish", "es", TP_SC_LATIN,
     "de la que el en y a los del se las por un para con no una su al lo como "
     "más pero sus le ya o este sí porque esta entre cuando muy sin sobre "
     "también me hasta hay donde quien desde todo nos durante todos uno les ni "
     "contra otros ese eso ante ellos e esto mí antes algunos qué unos yo otro "
     "otras otra él tanto esa estos mucho quienes nada muchos cual poco ella "
     "estar estas algunas algo nosotros mi mis tú te ti tu tus ellas es son "
     "fue era"},
    {"swedish", "sv", TP_SC_LATIN,
     "och det att i en jag hon som han på den med var sig för så till är men "
     "ett om hade de av icke mig du henne då sin nu har inte hans honom skulle "
     "hennes där min man ej vid kunde något från ut när efter upp vi dem vara "
     "vad över än dig kan sina här ha mot alla under någon eller allt mycket "
     "sedan ju denna själv detta åt utan varit hur ingen mitt ni bli blev oss "
     "din dessa några deras blir mina samma vilken er sådan vår blivit dess "
     "inom mellan sådant varför varje vilka ditt vem vilket"},
    {"tamil", "ta", TP_SC_TAMIL, "ஒரு என்று மற்றும் இந்த இது என்ற கொண்டு என்பது பல ஆகும்"},
    {"turkish", "tr", TP_SC_LATIN,
     "acaba ama aslında az bazı belki biri birkaç birşey biz bu çok çünkü da "
     "daha de defa diye eğer en gibi hem hep hepsi her hiç için ile ise kez ki "
     "kim mı mu mü nasıl ne neden nerde nerede nereye niçin niye o sanki şey "
     "siz şu tüm ve veya ya yani bir olarak olan"},
    {"yiddish", "yi", TP_SC_HEBREW, "און דער די דאס אין איז ער זי מיט פון צו"},
};

#endif
