"""Data behind the weight enums' ``meta["categories"]`` and ``transforms``: the label names
of the datasets torchvision's checkpoints were trained on, and each checkpoint's preset
inference transform (as ``torchvision.models`` 0.28 describes them).

The names are stored "|"-joined and cut into string pieces (cuts may fall inside a name).
"""

from __future__ import annotations

# ImageNet-1k's 1000 classes, in class-index order
_IMAGENET = (
    "tench|goldfish|great white shark|tiger shark|hammerhead|electric ray|stingray|cock|hen|o"
    "strich|brambling|goldfinch|house finch|junco|indigo bunting|robin|bulbul|jay|magpie|chic"
    "kadee|water ouzel|kite|bald eagle|vulture|great grey owl|European fire salamander|common"
    " newt|eft|spotted salamander|axolotl|bullfrog|tree frog|tailed frog|loggerhead|leatherba"
    "ck turtle|mud turtle|terrapin|box turtle|banded gecko|common iguana|American chameleon|w"
    "hiptail|agama|frilled lizard|alligator lizard|Gila monster|green lizard|African chameleo"
    "n|Komodo dragon|African crocodile|American alligator|triceratops|thunder snake|ringneck "
    "snake|hognose snake|green snake|king snake|garter snake|water snake|vine snake|night sna"
    "ke|boa constrictor|rock python|Indian cobra|green mamba|sea snake|horned viper|diamondba"
    "ck|sidewinder|trilobite|harvestman|scorpion|black and gold garden spider|barn spider|gar"
    "den spider|black widow|tarantula|wolf spider|tick|centipede|black grouse|ptarmigan|ruffe"
    "d grouse|prairie chicken|peacock|quail|partridge|African grey|macaw|sulphur-crested cock"
    "atoo|lorikeet|coucal|bee eater|hornbill|hummingbird|jacamar|toucan|drake|red-breasted me"
    "rganser|goose|black swan|tusker|echidna|platypus|wallaby|koala|wombat|jellyfish|sea anem"
    "one|brain coral|flatworm|nematode|conch|snail|slug|sea slug|chiton|chambered nautilus|Du"
    "ngeness crab|rock crab|fiddler crab|king crab|American lobster|spiny lobster|crayfish|he"
    "rmit crab|isopod|white stork|black stork|spoonbill|flamingo|little blue heron|American e"
    "gret|bittern|crane bird|limpkin|European gallinule|American coot|bustard|ruddy turnstone"
    "|red-backed sandpiper|redshank|dowitcher|oystercatcher|pelican|king penguin|albatross|gr"
    "ey whale|killer whale|dugong|sea lion|Chihuahua|Japanese spaniel|Maltese dog|Pekinese|Sh"
    "ih-Tzu|Blenheim spaniel|papillon|toy terrier|Rhodesian ridgeback|Afghan hound|basset|bea"
    "gle|bloodhound|bluetick|black-and-tan coonhound|Walker hound|English foxhound|redbone|bo"
    "rzoi|Irish wolfhound|Italian greyhound|whippet|Ibizan hound|Norwegian elkhound|otterhoun"
    "d|Saluki|Scottish deerhound|Weimaraner|Staffordshire bullterrier|American Staffordshire "
    "terrier|Bedlington terrier|Border terrier|Kerry blue terrier|Irish terrier|Norfolk terri"
    "er|Norwich terrier|Yorkshire terrier|wire-haired fox terrier|Lakeland terrier|Sealyham t"
    "errier|Airedale|cairn|Australian terrier|Dandie Dinmont|Boston bull|miniature schnauzer|"
    "giant schnauzer|standard schnauzer|Scotch terrier|Tibetan terrier|silky terrier|soft-coa"
    "ted wheaten terrier|West Highland white terrier|Lhasa|flat-coated retriever|curly-coated"
    " retriever|golden retriever|Labrador retriever|Chesapeake Bay retriever|German short-hai"
    "red pointer|vizsla|English setter|Irish setter|Gordon setter|Brittany spaniel|clumber|En"
    "glish springer|Welsh springer spaniel|cocker spaniel|Sussex spaniel|Irish water spaniel|"
    "kuvasz|schipperke|groenendael|malinois|briard|kelpie|komondor|Old English sheepdog|Shetl"
    "and sheepdog|collie|Border collie|Bouvier des Flandres|Rottweiler|German shepherd|Doberm"
    "an|miniature pinscher|Greater Swiss Mountain dog|Bernese mountain dog|Appenzeller|EntleB"
    "ucher|boxer|bull mastiff|Tibetan mastiff|French bulldog|Great Dane|Saint Bernard|Eskimo "
    "dog|malamute|Siberian husky|dalmatian|affenpinscher|basenji|pug|Leonberg|Newfoundland|Gr"
    "eat Pyrenees|Samoyed|Pomeranian|chow|keeshond|Brabancon griffon|Pembroke|Cardigan|toy po"
    "odle|miniature poodle|standard poodle|Mexican hairless|timber wolf|white wolf|red wolf|c"
    "oyote|dingo|dhole|African hunting dog|hyena|red fox|kit fox|Arctic fox|grey fox|tabby|ti"
    "ger cat|Persian cat|Siamese cat|Egyptian cat|cougar|lynx|leopard|snow leopard|jaguar|lio"
    "n|tiger|cheetah|brown bear|American black bear|ice bear|sloth bear|mongoose|meerkat|tige"
    "r beetle|ladybug|ground beetle|long-horned beetle|leaf beetle|dung beetle|rhinoceros bee"
    "tle|weevil|fly|bee|ant|grasshopper|cricket|walking stick|cockroach|mantis|cicada|leafhop"
    "per|lacewing|dragonfly|damselfly|admiral|ringlet|monarch|cabbage butterfly|sulphur butte"
    "rfly|lycaenid|starfish|sea urchin|sea cucumber|wood rabbit|hare|Angora|hamster|porcupine"
    "|fox squirrel|marmot|beaver|guinea pig|sorrel|zebra|hog|wild boar|warthog|hippopotamus|o"
    "x|water buffalo|bison|ram|bighorn|ibex|hartebeest|impala|gazelle|Arabian camel|llama|wea"
    "sel|mink|polecat|black-footed ferret|otter|skunk|badger|armadillo|three-toed sloth|orang"
    "utan|gorilla|chimpanzee|gibbon|siamang|guenon|patas|baboon|macaque|langur|colobus|probos"
    "cis monkey|marmoset|capuchin|howler monkey|titi|spider monkey|squirrel monkey|Madagascar"
    " cat|indri|Indian elephant|African elephant|lesser panda|giant panda|barracouta|eel|coho"
    "|rock beauty|anemone fish|sturgeon|gar|lionfish|puffer|abacus|abaya|academic gown|accord"
    "ion|acoustic guitar|aircraft carrier|airliner|airship|altar|ambulance|amphibian|analog c"
    "lock|apiary|apron|ashcan|assault rifle|backpack|bakery|balance beam|balloon|ballpoint|Ba"
    "nd Aid|banjo|bannister|barbell|barber chair|barbershop|barn|barometer|barrel|barrow|base"
    "ball|basketball|bassinet|bassoon|bathing cap|bath towel|bathtub|beach wagon|beacon|beake"
    "r|bearskin|beer bottle|beer glass|bell cote|bib|bicycle-built-for-two|bikini|binder|bino"
    "culars|birdhouse|boathouse|bobsled|bolo tie|bonnet|bookcase|bookshop|bottlecap|bow|bow t"
    "ie|brass|brassiere|breakwater|breastplate|broom|bucket|buckle|bulletproof vest|bullet tr"
    "ain|butcher shop|cab|caldron|candle|cannon|canoe|can opener|cardigan|car mirror|carousel"
    "|carpenter's kit|carton|car wheel|cash machine|cassette|cassette player|castle|catamaran"
    "|CD player|cello|cellular telephone|chain|chainlink fence|chain mail|chain saw|chest|chi"
    "ffonier|chime|china cabinet|Christmas stocking|church|cinema|cleaver|cliff dwelling|cloa"
    "k|clog|cocktail shaker|coffee mug|coffeepot|coil|combination lock|computer keyboard|conf"
    "ectionery|container ship|convertible|corkscrew|cornet|cowboy boot|cowboy hat|cradle|cran"
    "e|crash helmet|crate|crib|Crock Pot|croquet ball|crutch|cuirass|dam|desk|desktop compute"
    "r|dial telephone|diaper|digital clock|digital watch|dining table|dishrag|dishwasher|disk"
    " brake|dock|dogsled|dome|doormat|drilling platform|drum|drumstick|dumbbell|Dutch oven|el"
    "ectric fan|electric guitar|electric locomotive|entertainment center|envelope|espresso ma"
    "ker|face powder|feather boa|file|fireboat|fire engine|fire screen|flagpole|flute|folding"
    " chair|football helmet|forklift|fountain|fountain pen|four-poster|freight car|French hor"
    "n|frying pan|fur coat|garbage truck|gasmask|gas pump|goblet|go-kart|golf ball|golfcart|g"
    "ondola|gong|gown|grand piano|greenhouse|grille|grocery store|guillotine|hair slide|hair "
    "spray|half track|hammer|hamper|hand blower|hand-held computer|handkerchief|hard disc|har"
    "monica|harp|harvester|hatchet|holster|home theater|honeycomb|hook|hoopskirt|horizontal b"
    "ar|horse cart|hourglass|iPod|iron|jack-o'-lantern|jean|jeep|jersey|jigsaw puzzle|jinriki"
    "sha|joystick|kimono|knee pad|knot|lab coat|ladle|lampshade|laptop|lawn mower|lens cap|le"
    "tter opener|library|lifeboat|lighter|limousine|liner|lipstick|Loafer|lotion|loudspeaker|"
    "loupe|lumbermill|magnetic compass|mailbag|mailbox|maillot|maillot tank suit|manhole cove"
    "r|maraca|marimba|mask|matchstick|maypole|maze|measuring cup|medicine chest|megalith|micr"
    "ophone|microwave|military uniform|milk can|minibus|miniskirt|minivan|missile|mitten|mixi"
    "ng bowl|mobile home|Model T|modem|monastery|monitor|moped|mortar|mortarboard|mosque|mosq"
    "uito net|motor scooter|mountain bike|mountain tent|mouse|mousetrap|moving van|muzzle|nai"
    "l|neck brace|necklace|nipple|notebook|obelisk|oboe|ocarina|odometer|oil filter|organ|osc"
    "illoscope|overskirt|oxcart|oxygen mask|packet|paddle|paddlewheel|padlock|paintbrush|paja"
    "ma|palace|panpipe|paper towel|parachute|parallel bars|park bench|parking meter|passenger"
    " car|patio|pay-phone|pedestal|pencil box|pencil sharpener|perfume|Petri dish|photocopier"
    "|pick|pickelhaube|picket fence|pickup|pier|piggy bank|pill bottle|pillow|ping-pong ball|"
    "pinwheel|pirate|pitcher|plane|planetarium|plastic bag|plate rack|plow|plunger|Polaroid c"
    "amera|pole|police van|poncho|pool table|pop bottle|pot|potter's wheel|power drill|prayer"
    " rug|printer|prison|projectile|projector|puck|punching bag|purse|quill|quilt|racer|racke"
    "t|radiator|radio|radio telescope|rain barrel|recreational vehicle|reel|reflex camera|ref"
    "rigerator|remote control|restaurant|revolver|rifle|rocking chair|rotisserie|rubber erase"
    "r|rugby ball|rule|running shoe|safe|safety pin|saltshaker|sandal|sarong|sax|scabbard|sca"
    "le|school bus|schooner|scoreboard|screen|screw|screwdriver|seat belt|sewing machine|shie"
    "ld|shoe shop|shoji|shopping basket|shopping cart|shovel|shower cap|shower curtain|ski|sk"
    "i mask|sleeping bag|slide rule|sliding door|slot|snorkel|snowmobile|snowplow|soap dispen"
    "ser|soccer ball|sock|solar dish|sombrero|soup bowl|space bar|space heater|space shuttle|"
    "spatula|speedboat|spider web|spindle|sports car|spotlight|stage|steam locomotive|steel a"
    "rch bridge|steel drum|stethoscope|stole|stone wall|stopwatch|stove|strainer|streetcar|st"
    "retcher|studio couch|stupa|submarine|suit|sundial|sunglass|sunglasses|sunscreen|suspensi"
    "on bridge|swab|sweatshirt|swimming trunks|swing|switch|syringe|table lamp|tank|tape play"
    "er|teapot|teddy|television|tennis ball|thatch|theater curtain|thimble|thresher|throne|ti"
    "le roof|toaster|tobacco shop|toilet seat|torch|totem pole|tow truck|toyshop|tractor|trai"
    "ler truck|tray|trench coat|tricycle|trimaran|tripod|triumphal arch|trolleybus|trombone|t"
    "ub|turnstile|typewriter keyboard|umbrella|unicycle|upright|vacuum|vase|vault|velvet|vend"
    "ing machine|vestment|viaduct|violin|volleyball|waffle iron|wall clock|wallet|wardrobe|wa"
    "rplane|washbasin|washer|water bottle|water jug|water tower|whiskey jug|whistle|wig|windo"
    "w screen|window shade|Windsor tie|wine bottle|wing|wok|wooden spoon|wool|worm fence|wrec"
    "k|yawl|yurt|web site|comic book|crossword puzzle|street sign|traffic light|book jacket|m"
    "enu|plate|guacamole|consomme|hot pot|trifle|ice cream|ice lolly|French loaf|bagel|pretze"
    "l|cheeseburger|hotdog|mashed potato|head cabbage|broccoli|cauliflower|zucchini|spaghetti"
    " squash|acorn squash|butternut squash|cucumber|artichoke|bell pepper|cardoon|mushroom|Gr"
    "anny Smith|strawberry|orange|lemon|fig|pineapple|banana|jackfruit|custard apple|pomegran"
    "ate|hay|carbonara|chocolate sauce|dough|meat loaf|pizza|potpie|burrito|red wine|espresso"
    "|cup|eggnog|alp|bubble|cliff|coral reef|geyser|lakeside|promontory|sandbar|seashore|vall"
    "ey|volcano|ballplayer|groom|scuba diver|rapeseed|daisy|yellow lady's slipper|corn|acorn|"
    "hip|buckeye|coral fungus|agaric|gyromitra|stinkhorn|earthstar|hen-of-the-woods|bolete|ea"
    "r|toilet tissue"
)

# COCO's 91 category slots (N/A where the 2017 release dropped one)
_COCO = (
    "__background__|person|bicycle|car|motorcycle|airplane|bus|train|truck|boat|traffic light"
    "|fire hydrant|N/A|stop sign|parking meter|bench|bird|cat|dog|horse|sheep|cow|elephant|be"
    "ar|zebra|giraffe|N/A|backpack|umbrella|N/A|N/A|handbag|tie|suitcase|frisbee|skis|snowboa"
    "rd|sports ball|kite|baseball bat|baseball glove|skateboard|surfboard|tennis racket|bottl"
    "e|N/A|wine glass|cup|fork|knife|spoon|bowl|banana|apple|sandwich|orange|broccoli|carrot|"
    "hot dog|pizza|donut|cake|chair|couch|potted plant|bed|N/A|dining table|N/A|N/A|toilet|N/"
    "A|tv|laptop|mouse|remote|keyboard|cell phone|microwave|oven|toaster|sink|refrigerator|N/"
    "A|book|clock|vase|scissors|teddy bear|hair drier|toothbrush"
)

# Keypoint R-CNN's two classes
_COCO_PERSON = (
    "no person|person"
)

# Kinetics-400's action classes
_KINETICS = (
    "abseiling|air drumming|answering questions|applauding|applying cream|archery|arm wrestli"
    "ng|arranging flowers|assembling computer|auctioning|baby waking up|baking cookies|balloo"
    "n blowing|bandaging|barbequing|bartending|beatboxing|bee keeping|belly dancing|bench pre"
    "ssing|bending back|bending metal|biking through snow|blasting sand|blowing glass|blowing"
    " leaves|blowing nose|blowing out candles|bobsledding|bookbinding|bouncing on trampoline|"
    "bowling|braiding hair|breading or breadcrumbing|breakdancing|brush painting|brushing hai"
    "r|brushing teeth|building cabinet|building shed|bungee jumping|busking|canoeing or kayak"
    "ing|capoeira|carrying baby|cartwheeling|carving pumpkin|catching fish|catching or throwi"
    "ng baseball|catching or throwing frisbee|catching or throwing softball|celebrating|chang"
    "ing oil|changing wheel|checking tires|cheerleading|chopping wood|clapping|clay pottery m"
    "aking|clean and jerk|cleaning floor|cleaning gutters|cleaning pool|cleaning shoes|cleani"
    "ng toilet|cleaning windows|climbing a rope|climbing ladder|climbing tree|contact jugglin"
    "g|cooking chicken|cooking egg|cooking on campfire|cooking sausages|counting money|countr"
    "y line dancing|cracking neck|crawling baby|crossing river|crying|curling hair|cutting na"
    "ils|cutting pineapple|cutting watermelon|dancing ballet|dancing charleston|dancing gangn"
    "am style|dancing macarena|deadlifting|decorating the christmas tree|digging|dining|disc "
    "golfing|diving cliff|dodgeball|doing aerobics|doing laundry|doing nails|drawing|dribblin"
    "g basketball|drinking|drinking beer|drinking shots|driving car|driving tractor|drop kick"
    "ing|drumming fingers|dunking basketball|dying hair|eating burger|eating cake|eating carr"
    "ots|eating chips|eating doughnuts|eating hotdog|eating ice cream|eating spaghetti|eating"
    " watermelon|egg hunting|exercising arm|exercising with an exercise ball|extinguishing fi"
    "re|faceplanting|feeding birds|feeding fish|feeding goats|filling eyebrows|finger snappin"
    "g|fixing hair|flipping pancake|flying kite|folding clothes|folding napkins|folding paper"
    "|front raises|frying vegetables|garbage collecting|gargling|getting a haircut|getting a "
    "tattoo|giving or receiving award|golf chipping|golf driving|golf putting|grinding meat|g"
    "rooming dog|grooming horse|gymnastics tumbling|hammer throw|headbanging|headbutting|high"
    " jump|high kick|hitting baseball|hockey stop|holding snake|hopscotch|hoverboarding|huggi"
    "ng|hula hooping|hurdling|hurling (sport)|ice climbing|ice fishing|ice skating|ironing|ja"
    "velin throw|jetskiing|jogging|juggling balls|juggling fire|juggling soccer ball|jumping "
    "into pool|jumpstyle dancing|kicking field goal|kicking soccer ball|kissing|kitesurfing|k"
    "nitting|krumping|laughing|laying bricks|long jump|lunge|making a cake|making a sandwich|"
    "making bed|making jewelry|making pizza|making snowman|making sushi|making tea|marching|m"
    "assaging back|massaging feet|massaging legs|massaging person's head|milking cow|mopping "
    "floor|motorcycling|moving furniture|mowing lawn|news anchoring|opening bottle|opening pr"
    "esent|paragliding|parasailing|parkour|passing American football (in game)|passing Americ"
    "an football (not in game)|peeling apples|peeling potatoes|petting animal (not cat)|petti"
    "ng cat|picking fruit|planting trees|plastering|playing accordion|playing badminton|playi"
    "ng bagpipes|playing basketball|playing bass guitar|playing cards|playing cello|playing c"
    "hess|playing clarinet|playing controller|playing cricket|playing cymbals|playing didgeri"
    "doo|playing drums|playing flute|playing guitar|playing harmonica|playing harp|playing ic"
    "e hockey|playing keyboard|playing kickball|playing monopoly|playing organ|playing paintb"
    "all|playing piano|playing poker|playing recorder|playing saxophone|playing squash or rac"
    "quetball|playing tennis|playing trombone|playing trumpet|playing ukulele|playing violin|"
    "playing volleyball|playing xylophone|pole vault|presenting weather forecast|pull ups|pum"
    "ping fist|pumping gas|punching bag|punching person (boxing)|push up|pushing car|pushing "
    "cart|pushing wheelchair|reading book|reading newspaper|recording music|riding a bike|rid"
    "ing camel|riding elephant|riding mechanical bull|riding mountain bike|riding mule|riding"
    " or walking with horse|riding scooter|riding unicycle|ripping paper|robot dancing|rock c"
    "limbing|rock scissors paper|roller skating|running on treadmill|sailing|salsa dancing|sa"
    "nding floor|scrambling eggs|scuba diving|setting table|shaking hands|shaking head|sharpe"
    "ning knives|sharpening pencil|shaving head|shaving legs|shearing sheep|shining shoes|sho"
    "oting basketball|shooting goal (soccer)|shot put|shoveling snow|shredding paper|shufflin"
    "g cards|side kick|sign language interpreting|singing|situp|skateboarding|ski jumping|ski"
    "ing (not slalom or crosscountry)|skiing crosscountry|skiing slalom|skipping rope|skydivi"
    "ng|slacklining|slapping|sled dog racing|smoking|smoking hookah|snatch weight lifting|sne"
    "ezing|sniffing|snorkeling|snowboarding|snowkiting|snowmobiling|somersaulting|spinning po"
    "i|spray painting|spraying|springboard diving|squat|sticking tongue out|stomping grapes|s"
    "tretching arm|stretching leg|strumming guitar|surfing crowd|surfing water|sweeping floor"
    "|swimming backstroke|swimming breast stroke|swimming butterfly stroke|swing dancing|swin"
    "ging legs|swinging on something|sword fighting|tai chi|taking a shower|tango dancing|tap"
    " dancing|tapping guitar|tapping pen|tasting beer|tasting food|testifying|texting|throwin"
    "g axe|throwing ball|throwing discus|tickling|tobogganing|tossing coin|tossing salad|trai"
    "ning dog|trapezing|trimming or shaving beard|trimming trees|triple jump|tying bow tie|ty"
    "ing knot (not on a tie)|tying tie|unboxing|unloading truck|using computer|using remote c"
    "ontroller (not gaming)|using segway|vault|waiting in line|walking the dog|washing dishes"
    "|washing feet|washing hair|washing hands|water skiing|water sliding|watering plants|waxi"
    "ng back|waxing chest|waxing eyebrows|waxing legs|weaving basket|welding|whistling|windsu"
    "rfing|wrapping present|wrestling|writing|yawning|yoga|zumba"
)

# <enum>.<member> <preset> <categories> <crop size> <resize size> [interpolation] [n=<norm>]
# presets: C ImageClassification, D ObjectDetection, S SemanticSegmentation,
# V VideoClassification, F OpticalFlow; categories: i ImageNet, c COCO, p COCO person,
# k Kinetics-400, v VOC (in segmentation._utils), 0 None, - no entry; sizes: '-' for the preset's
# default, 'a,b' for a list; interpolation: bilinear unless named; norm: see _NORMS
_PRESETS = """
AlexNet_Weights.IMAGENET1K_V1 C i 224 -
ConvNeXt_Base_Weights.IMAGENET1K_V1 C i 224 232
ConvNeXt_Large_Weights.IMAGENET1K_V1 C i 224 232
ConvNeXt_Small_Weights.IMAGENET1K_V1 C i 224 230
ConvNeXt_Tiny_Weights.IMAGENET1K_V1 C i 224 236
DeepLabV3_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1 S v - 520
DeepLabV3_ResNet101_Weights.COCO_WITH_VOC_LABELS_V1 S v - 520
DeepLabV3_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1 S v - 520
DenseNet121_Weights.IMAGENET1K_V1 C i 224 -
DenseNet161_Weights.IMAGENET1K_V1 C i 224 -
DenseNet169_Weights.IMAGENET1K_V1 C i 224 -
DenseNet201_Weights.IMAGENET1K_V1 C i 224 -
EfficientNet_B0_Weights.IMAGENET1K_V1 C i 224 256 bicubic
EfficientNet_B1_Weights.IMAGENET1K_V1 C i 240 256 bicubic
EfficientNet_B1_Weights.IMAGENET1K_V2 C i 240 255
EfficientNet_B2_Weights.IMAGENET1K_V1 C i 288 288 bicubic
EfficientNet_B3_Weights.IMAGENET1K_V1 C i 300 320 bicubic
EfficientNet_B4_Weights.IMAGENET1K_V1 C i 380 384 bicubic
EfficientNet_B5_Weights.IMAGENET1K_V1 C i 456 456 bicubic
EfficientNet_B6_Weights.IMAGENET1K_V1 C i 528 528 bicubic
EfficientNet_B7_Weights.IMAGENET1K_V1 C i 600 600 bicubic
EfficientNet_V2_L_Weights.IMAGENET1K_V1 C i 480 480 bicubic n=half
EfficientNet_V2_M_Weights.IMAGENET1K_V1 C i 480 480
EfficientNet_V2_S_Weights.IMAGENET1K_V1 C i 384 384
FCN_ResNet101_Weights.COCO_WITH_VOC_LABELS_V1 S v - 520
FCN_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1 S v - 520
FCOS_ResNet50_FPN_Weights.COCO_V1 D c - -
FasterRCNN_MobileNet_V3_Large_320_FPN_Weights.COCO_V1 D c - -
FasterRCNN_MobileNet_V3_Large_FPN_Weights.COCO_V1 D c - -
FasterRCNN_ResNet50_FPN_V2_Weights.COCO_V1 D c - -
FasterRCNN_ResNet50_FPN_Weights.COCO_V1 D c - -
GoogLeNet_QuantizedWeights.IMAGENET1K_FBGEMM_V1 C i 224 -
GoogLeNet_Weights.IMAGENET1K_V1 C i 224 -
Inception_V3_QuantizedWeights.IMAGENET1K_FBGEMM_V1 C i 299 342
Inception_V3_Weights.IMAGENET1K_V1 C i 299 342
KeypointRCNN_ResNet50_FPN_Weights.COCO_LEGACY D p - -
KeypointRCNN_ResNet50_FPN_Weights.COCO_V1 D p - -
LRASPP_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1 S v - 520
MC3_18_Weights.KINETICS400_V1 V k 112,112 128,171
MNASNet0_5_Weights.IMAGENET1K_V1 C i 224 -
MNASNet0_75_Weights.IMAGENET1K_V1 C i 224 232
MNASNet1_0_Weights.IMAGENET1K_V1 C i 224 -
MNASNet1_3_Weights.IMAGENET1K_V1 C i 224 232
MViT_V1_B_Weights.KINETICS400_V1 V k 224,224 256 n=kin
MViT_V2_S_Weights.KINETICS400_V1 V k 224,224 256 n=kin
MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1 D c - -
MaskRCNN_ResNet50_FPN_Weights.COCO_V1 D c - -
MaxVit_T_Weights.IMAGENET1K_V1 C i 224 224 bicubic
MobileNet_V2_QuantizedWeights.IMAGENET1K_QNNPACK_V1 C i 224 -
MobileNet_V2_Weights.IMAGENET1K_V1 C i 224 -
MobileNet_V2_Weights.IMAGENET1K_V2 C i 224 232
MobileNet_V3_Large_QuantizedWeights.IMAGENET1K_QNNPACK_V1 C i 224 -
MobileNet_V3_Large_Weights.IMAGENET1K_V1 C i 224 -
MobileNet_V3_Large_Weights.IMAGENET1K_V2 C i 224 232
MobileNet_V3_Small_Weights.IMAGENET1K_V1 C i 224 -
R2Plus1D_18_Weights.KINETICS400_V1 V k 112,112 128,171
R3D_18_Weights.KINETICS400_V1 V k 112,112 128,171
Raft_Large_Weights.C_T_SKHT_K_V1 F - - -
Raft_Large_Weights.C_T_SKHT_K_V2 F - - -
Raft_Large_Weights.C_T_SKHT_V1 F - - -
Raft_Large_Weights.C_T_SKHT_V2 F - - -
Raft_Large_Weights.C_T_V1 F - - -
Raft_Large_Weights.C_T_V2 F - - -
Raft_Small_Weights.C_T_V1 F - - -
Raft_Small_Weights.C_T_V2 F - - -
RegNet_X_16GF_Weights.IMAGENET1K_V1 C i 224 -
RegNet_X_16GF_Weights.IMAGENET1K_V2 C i 224 232
RegNet_X_1_6GF_Weights.IMAGENET1K_V1 C i 224 -
RegNet_X_1_6GF_Weights.IMAGENET1K_V2 C i 224 232
RegNet_X_32GF_Weights.IMAGENET1K_V1 C i 224 -
RegNet_X_32GF_Weights.IMAGENET1K_V2 C i 224 232
RegNet_X_3_2GF_Weights.IMAGENET1K_V1 C i 224 -
RegNet_X_3_2GF_Weights.IMAGENET1K_V2 C i 224 232
RegNet_X_400MF_Weights.IMAGENET1K_V1 C i 224 -
RegNet_X_400MF_Weights.IMAGENET1K_V2 C i 224 232
RegNet_X_800MF_Weights.IMAGENET1K_V1 C i 224 -
RegNet_X_800MF_Weights.IMAGENET1K_V2 C i 224 232
RegNet_X_8GF_Weights.IMAGENET1K_V1 C i 224 -
RegNet_X_8GF_Weights.IMAGENET1K_V2 C i 224 232
RegNet_Y_128GF_Weights.IMAGENET1K_SWAG_E2E_V1 C i 384 384 bicubic
RegNet_Y_128GF_Weights.IMAGENET1K_SWAG_LINEAR_V1 C i 224 224 bicubic
RegNet_Y_16GF_Weights.IMAGENET1K_SWAG_E2E_V1 C i 384 384 bicubic
RegNet_Y_16GF_Weights.IMAGENET1K_SWAG_LINEAR_V1 C i 224 224 bicubic
RegNet_Y_16GF_Weights.IMAGENET1K_V1 C i 224 -
RegNet_Y_16GF_Weights.IMAGENET1K_V2 C i 224 232
RegNet_Y_1_6GF_Weights.IMAGENET1K_V1 C i 224 -
RegNet_Y_1_6GF_Weights.IMAGENET1K_V2 C i 224 232
RegNet_Y_32GF_Weights.IMAGENET1K_SWAG_E2E_V1 C i 384 384 bicubic
RegNet_Y_32GF_Weights.IMAGENET1K_SWAG_LINEAR_V1 C i 224 224 bicubic
RegNet_Y_32GF_Weights.IMAGENET1K_V1 C i 224 -
RegNet_Y_32GF_Weights.IMAGENET1K_V2 C i 224 232
RegNet_Y_3_2GF_Weights.IMAGENET1K_V1 C i 224 -
RegNet_Y_3_2GF_Weights.IMAGENET1K_V2 C i 224 232
RegNet_Y_400MF_Weights.IMAGENET1K_V1 C i 224 -
RegNet_Y_400MF_Weights.IMAGENET1K_V2 C i 224 232
RegNet_Y_800MF_Weights.IMAGENET1K_V1 C i 224 -
RegNet_Y_800MF_Weights.IMAGENET1K_V2 C i 224 232
RegNet_Y_8GF_Weights.IMAGENET1K_V1 C i 224 -
RegNet_Y_8GF_Weights.IMAGENET1K_V2 C i 224 232
ResNeXt101_32X8D_QuantizedWeights.IMAGENET1K_FBGEMM_V1 C i 224 -
ResNeXt101_32X8D_QuantizedWeights.IMAGENET1K_FBGEMM_V2 C i 224 232
ResNeXt101_32X8D_Weights.IMAGENET1K_V1 C i 224 -
ResNeXt101_32X8D_Weights.IMAGENET1K_V2 C i 224 232
ResNeXt101_64X4D_QuantizedWeights.IMAGENET1K_FBGEMM_V1 C i 224 232
ResNeXt101_64X4D_Weights.IMAGENET1K_V1 C i 224 232
ResNeXt50_32X4D_Weights.IMAGENET1K_V1 C i 224 -
ResNeXt50_32X4D_Weights.IMAGENET1K_V2 C i 224 232
ResNet101_Weights.IMAGENET1K_V1 C i 224 -
ResNet101_Weights.IMAGENET1K_V2 C i 224 232
ResNet152_Weights.IMAGENET1K_V1 C i 224 -
ResNet152_Weights.IMAGENET1K_V2 C i 224 232
ResNet18_QuantizedWeights.IMAGENET1K_FBGEMM_V1 C i 224 -
ResNet18_Weights.IMAGENET1K_V1 C i 224 -
ResNet34_Weights.IMAGENET1K_V1 C i 224 -
ResNet50_QuantizedWeights.IMAGENET1K_FBGEMM_V1 C i 224 -
ResNet50_QuantizedWeights.IMAGENET1K_FBGEMM_V2 C i 224 232
ResNet50_Weights.IMAGENET1K_V1 C i 224 -
ResNet50_Weights.IMAGENET1K_V2 C i 224 232
RetinaNet_ResNet50_FPN_V2_Weights.COCO_V1 D c - -
RetinaNet_ResNet50_FPN_Weights.COCO_V1 D c - -
S3D_Weights.KINETICS400_V1 V k 224,224 256,256
SSD300_VGG16_Weights.COCO_V1 D c - -
SSDLite320_MobileNet_V3_Large_Weights.COCO_V1 D c - -
ShuffleNet_V2_X0_5_QuantizedWeights.IMAGENET1K_FBGEMM_V1 C i 224 -
ShuffleNet_V2_X0_5_Weights.IMAGENET1K_V1 C i 224 -
ShuffleNet_V2_X1_0_QuantizedWeights.IMAGENET1K_FBGEMM_V1 C i 224 -
ShuffleNet_V2_X1_0_Weights.IMAGENET1K_V1 C i 224 -
ShuffleNet_V2_X1_5_QuantizedWeights.IMAGENET1K_FBGEMM_V1 C i 224 232
ShuffleNet_V2_X1_5_Weights.IMAGENET1K_V1 C i 224 232
ShuffleNet_V2_X2_0_QuantizedWeights.IMAGENET1K_FBGEMM_V1 C i 224 232
ShuffleNet_V2_X2_0_Weights.IMAGENET1K_V1 C i 224 232
SqueezeNet1_0_Weights.IMAGENET1K_V1 C i 224 -
SqueezeNet1_1_Weights.IMAGENET1K_V1 C i 224 -
Swin3D_B_Weights.KINETICS400_IMAGENET22K_V1 V k 224,224 256 n=imnet
Swin3D_B_Weights.KINETICS400_V1 V k 224,224 256 n=imnet
Swin3D_S_Weights.KINETICS400_V1 V k 224,224 256 n=imnet
Swin3D_T_Weights.KINETICS400_V1 V k 224,224 256 n=imnet
Swin_B_Weights.IMAGENET1K_V1 C i 224 238 bicubic
Swin_S_Weights.IMAGENET1K_V1 C i 224 246 bicubic
Swin_T_Weights.IMAGENET1K_V1 C i 224 232 bicubic
Swin_V2_B_Weights.IMAGENET1K_V1 C i 256 272 bicubic
Swin_V2_S_Weights.IMAGENET1K_V1 C i 256 260 bicubic
Swin_V2_T_Weights.IMAGENET1K_V1 C i 256 260 bicubic
VGG11_BN_Weights.IMAGENET1K_V1 C i 224 -
VGG11_Weights.IMAGENET1K_V1 C i 224 -
VGG13_BN_Weights.IMAGENET1K_V1 C i 224 -
VGG13_Weights.IMAGENET1K_V1 C i 224 -
VGG16_BN_Weights.IMAGENET1K_V1 C i 224 -
VGG16_Weights.IMAGENET1K_FEATURES C 0 224 - n=swag
VGG16_Weights.IMAGENET1K_V1 C i 224 -
VGG19_BN_Weights.IMAGENET1K_V1 C i 224 -
VGG19_Weights.IMAGENET1K_V1 C i 224 -
ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1 C i 384 384 bicubic
ViT_B_16_Weights.IMAGENET1K_SWAG_LINEAR_V1 C i 224 224 bicubic
ViT_B_16_Weights.IMAGENET1K_V1 C i 224 -
ViT_B_32_Weights.IMAGENET1K_V1 C i 224 -
ViT_H_14_Weights.IMAGENET1K_SWAG_E2E_V1 C i 518 518 bicubic
ViT_H_14_Weights.IMAGENET1K_SWAG_LINEAR_V1 C i 224 224 bicubic
ViT_L_16_Weights.IMAGENET1K_SWAG_E2E_V1 C i 512 512 bicubic
ViT_L_16_Weights.IMAGENET1K_SWAG_LINEAR_V1 C i 224 224 bicubic
ViT_L_16_Weights.IMAGENET1K_V1 C i 224 242
ViT_L_32_Weights.IMAGENET1K_V1 C i 224 -
Wide_ResNet101_2_Weights.IMAGENET1K_V1 C i 224 -
Wide_ResNet101_2_Weights.IMAGENET1K_V2 C i 224 232
Wide_ResNet50_2_Weights.IMAGENET1K_V1 C i 224 -
Wide_ResNet50_2_Weights.IMAGENET1K_V2 C i 224 232
"""
