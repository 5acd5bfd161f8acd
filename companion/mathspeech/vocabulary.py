"""Word tables for math speech: letters, symbols, operators, relations and named functions."""

from __future__ import annotations

# letters that ML texts use in both cases (x and X): the upper case is read "capital"
ALWAYS_CAPITAL = frozenset("XYZ")

GREEK = {
    "alpha": "alpha",
    "beta": "beta",
    "gamma": "gamma",
    "delta": "delta",
    "epsilon": "epsilon",
    "varepsilon": "epsilon",
    "zeta": "zeta",
    "eta": "eta",
    "theta": "theta",
    "vartheta": "theta",
    "iota": "iota",
    "kappa": "kappa",
    "lambda": "lambda",
    "mu": "mu",
    "nu": "nu",
    "xi": "xi",
    "omicron": "omicron",
    "pi": "pi",
    "varpi": "pi",
    "rho": "rho",
    "varrho": "rho",
    "sigma": "sigma",
    "varsigma": "sigma",
    "tau": "tau",
    "upsilon": "upsilon",
    "phi": "phi",
    "varphi": "phi",
    "chi": "chi",
    "psi": "psi",
    "omega": "omega",
}
GREEK_UPPER = {
    "Gamma": "gamma",
    "Delta": "delta",
    "Theta": "theta",
    "Lambda": "lambda",
    "Xi": "xi",
    "Pi": "pi",
    "Sigma": "sigma",
    "Upsilon": "upsilon",
    "Phi": "phi",
    "Psi": "psi",
    "Omega": "omega",
}

# letters that are functions when followed by parentheses, whatever the argument (upper case:
# the conventional function names; any other capital before parentheses is a matrix times a
# vector unless the equation or the caller declares it a function)
FUNCTION_LETTERS = frozenset("fghpqFGHJLPQDIKORSTUVZ")
FUNCTION_GREEK = frozenset({"sigma", "phi", "varphi", "psi", "pi", "ell", "Phi", "Psi", "Gamma"})
# Greek letters that are functions unless the parenthesis holds a sum: eta(x + y) is a product
WEAK_FUNCTION_GREEK = frozenset({"kappa", "rho", "delta", "mu", "eta"})

# commands that stand for one symbol
SYMBOLS = {
    "infty": "infinity",
    "partial": "partial",
    "nabla": "nabla",
    "emptyset": "the empty set",
    "varnothing": "the empty set",
    "ell": "ell",
    "hbar": "h bar",
    "ldots": "dot dot dot",
    "cdots": "dot dot dot",
    "dots": "dot dot dot",
    "vdots": "dot dot dot",
    "ddots": "dot dot dot",
    "dotsc": "dot dot dot",
    "dotsb": "dot dot dot",
    "forall": "for all",
    "exists": "there exists",
    "nexists": "there is no",
    "neg": "not",
    "lnot": "not",
    "top": "transpose",
    "intercal": "transpose",
    "prime": "prime",
    "ast": "star",
    "star": "star",
    "dagger": "dagger",
    "circ": "circle",
    "aleph": "aleph",
    "Re": "the real part of",
    "Im": "the imaginary part of",
    "square": "square",
    "checkmark": "check",
    "bot": "bottom",
    "imath": "i",
    "jmath": "j",
    "+": "plus",
    "-": "minus",
    "perp": "perp",
    "times": "times",
    "1": "one",
}
DOTS = frozenset({"ldots", "cdots", "dots", "vdots", "ddots", "dotsc", "dotsb"})

# relations: command or symbol -> words; the flag says whether a chain may say "which"
RELATIONS = {
    "=": ("equals", True),
    "<": ("is less than", True),
    ">": ("is greater than", True),
    ":=": ("is defined as", False),
    "coloneqq": ("is defined as", False),
    "triangleq": ("is defined as", False),
    "equiv": ("is equivalent to", True),
    "eqqcolon": ("is defined as", False),
    "doteq": ("is defined as", False),
    "neq": ("is not equal to", True),
    "ne": ("is not equal to", True),
    "leq": ("is less than or equal to", True),
    "le": ("is less than or equal to", True),
    "leqslant": ("is less than or equal to", True),
    "geq": ("is greater than or equal to", True),
    "ge": ("is greater than or equal to", True),
    "geqslant": ("is greater than or equal to", True),
    "ll": ("is much less than", True),
    "gg": ("is much greater than", True),
    "approx": ("is approximately", True),
    "simeq": ("is approximately", True),
    "cong": ("is congruent to", True),
    "propto": ("is proportional to", True),
    "sim": ("is distributed as", False),
    "in": ("is in", True),
    "notin": ("is not in", True),
    "ni": ("contains", True),
    "subset": ("is a subset of", True),
    "subseteq": ("is a subset of or equal to", True),
    "supset": ("is a superset of", True),
    "supseteq": ("is a superset of or equal to", True),
    "perp": ("is perpendicular to", True),
    "parallel": ("is parallel to", True),
    "to": ("goes to", False),
    "rightarrow": ("goes to", False),
    "longrightarrow": ("goes to", False),
    "leftarrow": ("gets", False),
    "gets": ("gets", False),
    "longleftarrow": ("gets", False),
    "mapsto": ("maps to", False),
    "longmapsto": ("maps to", False),
    "Rightarrow": ("implies", False),
    "implies": ("implies", False),
    "Longrightarrow": ("implies", False),
    "Leftarrow": ("is implied by", False),
    "iff": ("if and only if", False),
    "Leftrightarrow": ("if and only if", False),
    "leftrightarrow": ("corresponds to", False),
    "models": ("models", False),
    "vdash": ("proves", False),
    "prec": ("precedes", True),
    "succ": ("succeeds", True),
    "preceq": ("precedes or equals", True),
    "succeq": ("succeeds or equals", True),
    "lesssim": ("is at most about", True),
    "gtrsim": ("is at least about", True),
    "asymp": ("is asymptotically equal to", True),
    "independent": ("is independent of", True),
    "Longleftrightarrow": ("if and only if", False),
    "hookrightarrow": ("embeds in", False),
    "twoheadrightarrow": ("maps onto", False),
    "rightharpoonup": ("converges weakly to", False),
    "leadsto": ("leads to", False),
    "vDash": ("models", False),
}
# relations whose right side is a set
MEMBERSHIP_RELATIONS = frozenset({"in", "notin", "subset", "subseteq", "notsubset"})
# relations after \not
NOT_RELATIONS = {
    "=": "is not equal to",
    "in": "is not in",
    "subset": "is not a subset of",
    "sim": "is not distributed as",
    "equiv": "is not equivalent to",
}
# how a relation is read inside a subscript or a set ("i = 1" under a sum, "x in R")
SCRIPT_RELATIONS = {
    "in": "in",
    "notin": "not in",
    "to": "approaches",
    "neq": "not equal to",
    "ne": "not equal to",
    "<": "less than",
    ">": "greater than",
    "leq": "less than or equal to",
    "le": "less than or equal to",
    "geq": "greater than or equal to",
    "ge": "greater than or equal to",
    "rightarrow": "approaches",
    "sim": "drawn from",
    "subset": "in",
    "subseteq": "in",
}

# additive-level binary operators
ADD_OPS = {
    "+": "plus",
    "-": "minus",
    "pm": "plus or minus",
    "mp": "minus or plus",
    "cup": "union",
    "cap": "intersect",
    "setminus": "set minus",
    "oplus": "direct sum",
    "vee": "or",
    "lor": "or",
    "wedge": "and",
    "land": "and",
    "sqcup": "union",
    "uplus": "union",
    "triangle": "symmetric difference",
}
# product-level binary operators
MUL_OPS = {
    "cdot": "times",
    "times": "times",
    "odot": "element-wise times",
    "otimes": "tensor",
    "circ": "composed with",
    "/": "over",
    "div": "divided by",
    "*": "times",
    "ast": "convolved with",
    "star": "convolved with",
    "bullet": "times",
    "ominus": "minus",
    "oslash": "divided element-wise by",
    "circledast": "convolved with",
}
MUL_IN_SCRIPT = {"times": "by"}  # R^{m x n}: "R m by n"
# operators that combine functions into a function: (f * g)(t), (f o g)(x)
FUNCTION_COMBINATORS = frozenset({"*", "ast", "star", "circ", "circledast"})

# big operators with limits: command -> (words, kind)
BIG_OPS = {
    "sum": "the sum",
    "prod": "the product",
    "coprod": "the coproduct",
    "int": "the integral",
    "iint": "the double integral",
    "iiint": "the triple integral",
    "oint": "the contour integral",
    "lim": "the limit",
    "limsup": "the limit superior",
    "liminf": "the limit inferior",
    "bigcup": "the union",
    "bigcap": "the intersection",
    "bigoplus": "the direct sum",
    "bigotimes": "the tensor product",
}
INTEGRALS = frozenset({"int", "iint", "iiint", "oint"})
# named functions that take limits below them when they have a subscript
LIMIT_FUNCTIONS = frozenset(
    {
        "max",
        "min",
        "argmax",
        "argmin",
        "sup",
        "inf",
        "lim",
        "limsup",
        "liminf",
        "arg max",
        "arg min",
    }
)

# named functions: name -> (words, takes "the")
FUNCTIONS = {
    "sin": ("sine", False),
    "cos": ("cosine", False),
    "tan": ("tangent", False),
    "sec": ("secant", False),
    "csc": ("cosecant", False),
    "cot": ("cotangent", False),
    "arcsin": ("arc sine", False),
    "arccos": ("arc cosine", False),
    "arctan": ("arc tangent", False),
    "sinh": ("hyperbolic sine", False),
    "cosh": ("hyperbolic cosine", False),
    "tanh": ("tanh", False),
    "log": ("log", True),
    "ln": ("natural log", True),
    "lg": ("log", True),
    "exp": ("exponential", True),
    "det": ("determinant", True),
    "tr": ("trace", True),
    "trace": ("trace", True),
    "Tr": ("trace", True),
    "rank": ("rank", True),
    "diag": ("diag", False),
    "dim": ("dimension", True),
    "ker": ("kernel", True),
    "max": ("max", True),
    "min": ("min", True),
    "argmax": ("arg max", True),
    "argmin": ("arg min", True),
    "sup": ("supremum", True),
    "inf": ("infimum", True),
    "gcd": ("greatest common divisor", True),
    "lcm": ("least common multiple", True),
    "deg": ("degree", True),
    "Pr": ("probability", True),
    "sgn": ("sign", True),
    "sign": ("sign", True),
    "Var": ("variance", True),
    "var": ("variance", True),
    "Cov": ("covariance", True),
    "cov": ("covariance", True),
    "Corr": ("correlation", True),
    "corr": ("correlation", True),
    "Std": ("standard deviation", True),
    "std": ("standard deviation", True),
    "softmax": ("softmax", False),
    "sigmoid": ("sigmoid", False),
    "ReLU": ("relu", False),
    "relu": ("relu", False),
    "GELU": ("gelu", False),
    "erf": ("erf", False),
    "logit": ("logit", False),
    "Attention": ("attention", False),
    "attention": ("attention", False),
    "KL": ("K L divergence", True),
    "vec": ("vec", False),
    "span": ("span", True),
    "supp": ("support", True),
    "dom": ("domain", True),
    "proj": ("projection", True),
    "mod": ("mod", False),
    "lim": ("limit", True),
    "conv": ("convolution", True),
    "LayerNorm": ("layer norm", False),
    "MultiHead": ("multi head", False),
    "Concat": ("concat", False),
    "concat": ("concat", False),
    "FFN": ("F F N", False),
    "arg": ("arg", True),
    "card": ("cardinality", True),
    "Bern": ("Bernoulli", False),
    "Bernoulli": ("Bernoulli", False),
    "Unif": ("uniform", False),
    "Uniform": ("uniform", False),
    "Beta": ("beta", False),
    "Dir": ("Dirichlet", False),
    "Cat": ("categorical", False),
    "Poisson": ("Poisson", False),
    "Exp": ("exponential", False),
    "Binomial": ("binomial", False),
    "Bin": ("binomial", False),
    "tril": ("tril", False),
}
# multi-letter names that are not functions
WORDS = {
    "TP": "true positives",
    "FP": "false positives",
    "TN": "true negatives",
    "FN": "false negatives",
    "TPR": "true positive rate",
    "FPR": "false positive rate",
    "Precision": "precision",
    "Recall": "recall",
    "Accuracy": "accuracy",
    "AUC": "A U C",
    "ReLU": "relu",
    "const": "constant",
    "and": "and",
    "or": "or",
    "if": "if",
    "otherwise": "otherwise",
    "s.t.": "such that",
    "st": "such that",
    "new": "new",
    "old": "old",
    "true": "true",
    "pred": "pred",
    "train": "train",
    "test": "test",
    "max": "max",
    "min": "min",
    "KL": "K L",
    "ML": "M L",
    "MAP": "M A P",
    "MLE": "M L E",
    "ELBO": "elbo",
    "GAN": "gan",
    "IoU": "I o U",
    # acronyms said as a word people know, or spelled where a word would mislead
    "BLEU": "BLEU",
    "ROUGE": "rouge",
    "SiLU": "silu",
    "PReLU": "P relu",
    "LoRA": "lora",
    "LeakyReLU": "leaky relu",
    "SwiGLU": "SwiGLU",
    "GeLU": "gelu",
    "ELU": "E L U",
    "tgt": "target",
    "src": "source",
    "iid": "i i d",
    "i.i.d.": "i i d",
    "a.s.": "almost surely",
}
# labels over a relation: \overset{def}{=}, \xrightarrow{d}
DEFINITION_LABELS = frozenset({"def", "Delta", "triangle", "triangleq", "", ":", "=", "defn"})
CONVERGENCE_LABELS = {
    "d": "in distribution",
    "D": "in distribution",
    "p": "in probability",
    "P": "in probability",
    "a.s.": "almost surely",
    "as": "almost surely",
}

# \mathbb letters
BLACKBOARD = {
    "R": "the real numbers",
    "N": "the natural numbers",
    "Z": "the integers",
    "Q": "the rationals",
    "C": "the complex numbers",
    "E": "the expected value",
    "P": "the probability",
    "V": "the variance",
    "I": "the indicator",
}
BLACKBOARD_FUNCTIONS = {
    "E": "expected value",
    "P": "probability",
    "V": "variance",
    "I": "indicator",
    "1": "indicator",
}
CALLIGRAPHIC = {"O": "big O", "N": "script N", "L": "script L"}

ACCENTS = {
    "hat": "hat",
    "widehat": "hat",
    "bar": "bar",
    "overline": "bar",
    "tilde": "tilde",
    "widetilde": "tilde",
    "dot": "dot",
    "ddot": "double dot",
    "check": "check",
    "breve": "breve",
    "acute": "acute",
    "grave": "grave",
    "underline": "underline",
    "mathring": "ring",
    "vec": "vector",
    "overrightarrow": "vector",
}
FONTS = {
    "mathbf": "bold",
    "boldsymbol": "bold",
    "bm": "bold",
    "mathit": "",
    "mathsf": "",
    "mathtt": "",
    "mathbb": "blackboard",
    "mathcal": "script",
    "mathscr": "script",
    "mathfrak": "fraktur",
    "textbf": "bold",
    "pmb": "bold",
    "mathnormal": "",
    "mathbbm": "blackboard",
    "mathds": "blackboard",
    "bbold": "blackboard",
    "mathbfit": "bold",
    "mathsfit": "",
    "vb": "bold",
}
NAME_COMMANDS = frozenset({"mathrm", "operatorname", "mathop"})

MATRIX_ENVS = {
    "matrix": "",
    "pmatrix": "",
    "bmatrix": "",
    "Bmatrix": "",
    "vmatrix": "det",
    "Vmatrix": "norm",
    "smallmatrix": "",
    "array": "",
}
LINE_ENVS = frozenset(
    {
        "aligned",
        "align",
        "align*",
        "gathered",
        "gather",
        "gather*",
        "split",
        "equation",
        "equation*",
        "alignat",
        "alignat*",
        "alignedat",
        "eqnarray",
        "eqnarray*",
        "multline",
        "multline*",
    }
)
CASES_ENVS = frozenset({"cases", "dcases", "rcases"})

ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINALS = {
    1: "first",
    2: "second",
    3: "third",
    4: "fourth",
    5: "fifth",
    6: "sixth",
    7: "seventh",
    8: "eighth",
    9: "ninth",
    10: "tenth",
    11: "eleventh",
    12: "twelfth",
}
# denominators of simple numeric fractions: (singular, plural)
FRACTION_NAMES = {
    2: ("half", "halves"),
    3: ("third", "thirds"),
    4: ("quarter", "quarters"),
    5: ("fifth", "fifths"),
    6: ("sixth", "sixths"),
    7: ("seventh", "sevenths"),
    8: ("eighth", "eighths"),
    9: ("ninth", "ninths"),
    10: ("tenth", "tenths"),
}
# named norms by subscript
NORM_NAMES = {
    "1": "L one norm",
    "2": "L two norm",
    "F": "Frobenius norm",
    "infty": "infinity norm",
    "p": "L p norm",
    "0": "L zero norm",
    "*": "nuclear norm",
    "ast": "nuclear norm",
    "max": "max norm",
}
# superscripts with their own words
SQUARED = {"2": "squared", "3": "cubed"}
# characters that must never reach the output
FORBIDDEN = frozenset("\\{}^_$=+*/#|~%&<>[]()")


def integer_words(n: int, *, prose: bool = False) -> str:
    """Spell a non-negative integer in words: "forty two", "one hundred five" as equations
    are read; in `prose` (a lesson's own sentences) "forty-two", "one hundred and five"."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else ("-" if prose else " ") + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        joint = " and " if prose else " "
        tail = "" if rest == 0 else joint + integer_words(rest, prose=prose)
        return ONES[n // 100] + " hundred" + tail
    for size, name in (
        (10**12, "trillion"),
        (10**9, "billion"),
        (10**6, "million"),
        (1000, "thousand"),
    ):
        if n >= size:
            rest = n % size
            head = integer_words(n // size, prose=prose) + " " + name
            return head + ("" if rest == 0 else " " + integer_words(rest, prose=prose))
    return str(n)  # pragma: no cover


def number_words(text: str) -> str:
    """Spell a number token such as 12, 0.5 or .25 in words."""
    if "." in text:
        whole, frac = text.split(".", 1)
        head = integer_words(int(whole)) if whole else "zero"
        return head + " point " + " ".join(ONES[int(d)] for d in frac)
    if len(text) > 1 and text.startswith("0"):
        return " ".join(ONES[int(d)] for d in text)
    if len(text) > 15:
        return " ".join(ONES[int(d)] for d in text)
    return integer_words(int(text))
